"""The web interface's words, in French (the default) and English.

One entry per message, both languages side by side, so that a missing translation shows
in review (and in tests/test_web_units.py, which checks every key used by a template or a
script). ``{name}`` marks a value filled in at display time. Keys starting with ``js.`` are
sent to the page for its scripts.
"""

from __future__ import annotations

LANGUAGES = ("fr", "en")

MESSAGES: dict[str, tuple[str, str]] = {
    # --- layout
    "skip": ("Aller au contenu", "Skip to content"),
    "tagline": (
        "IA générative hébergée sur place, hors ligne",
        "Self-hosted generative AI, offline",
    ),
    "header.signed_in_as": ("Connecté·e : {name}", "Signed in: {name}"),
    "header.sign_out": ("Se déconnecter", "Sign out"),
    "header.language": ("Langue de l'interface", "Interface language"),
    "nav.label": ("Navigation principale", "Main navigation"),
    "nav.chat": ("Assistant", "Assistant"),
    "nav.documents": ("Documents", "Documents"),
    "nav.meetings": ("Réunions", "Meetings"),
    "nav.models": ("Modèles", "Models"),
    "nav.admin": ("Administration", "Administration"),
    "nav.feedback": ("Avis", "Feedback"),
    # --- feedback on answers
    "feedback.title": ("Avis sur les réponses", "Feedback on answers"),
    "feedback.intro_curator": (
        "Acceptez les avis qui doivent entrer dans les jeux de données d'adaptation du "
        "modèle, rejetez les autres. Seuls les avis dont vous pouvez lire les sources "
        "sont listés.",
        "Accept the feedback that should go into the model's adaptation data sets, reject "
        "the rest. Only feedback whose sources you may read is listed.",
    ),
    "feedback.intro_own": (
        "Les avis que vous avez donnés sur les réponses de l'assistant.",
        "The feedback you gave on the assistant's answers.",
    ),
    "feedback.statuses": ("État des avis", "Feedback by state"),
    "feedback.status_pending": ("À examiner", "To review"),
    "feedback.status_accepted": ("Acceptés", "Accepted"),
    "feedback.status_rejected": ("Rejetés", "Rejected"),
    "feedback.none": ("Aucun avis ici.", "No feedback here."),
    "feedback.rating_up": ("Utile", "Helpful"),
    "feedback.rating_down": ("À corriger", "Needs correcting"),
    "feedback.question": ("Question", "Question"),
    "feedback.answer": ("Réponse du modèle", "The model's answer"),
    "feedback.correction": ("Réponse corrigée", "Corrected answer"),
    "feedback.reason": ("Raison", "Reason"),
    "feedback.sources": ("Sources citées", "Sources cited"),
    "feedback.curated_by": ("Décision de", "Decided by"),
    "feedback.accept": ("Accepter", "Accept"),
    "feedback.reject": ("Rejeter", "Reject"),
    "feedback.done.accepted": ("Avis accepté.", "Feedback accepted."),
    "feedback.done.rejected": ("Avis rejeté.", "Feedback rejected."),
    "feedback.done.pending": ("Avis remis à examiner.", "Feedback back to review."),
    "footer.offline": (
        "Fonctionne hors ligne : aucune donnée ne quitte ce serveur",
        "Works offline: no data leaves this server",
    ),
    "footer.api": ("API et documentation", "API and documentation"),
    "form.optional": ("facultatif", "optional"),
    "dialog.close": ("Fermer", "Close"),
    "role.admin": ("administrateur", "admin"),
    "role.member": ("membre", "member"),
    "sensitivity.public": ("Public", "Public"),
    "sensitivity.internal": ("Interne", "Internal"),
    "sensitivity.sensitive": ("Sensible", "Sensitive"),
    "sensitivity.secret": ("Secret", "Secret"),
    # --- errors
    "error.title": ("Une erreur est survenue", "Something went wrong"),
    "error.400": ("Demande incorrecte", "Invalid request"),
    "error.401": ("Connexion nécessaire", "Sign-in needed"),
    "error.403": ("Accès refusé", "Access denied"),
    "error.404": ("Introuvable", "Not found"),
    "error.409": ("Conflit", "Conflict"),
    "error.413": ("Fichier trop volumineux", "File too large"),
    "error.429": ("Service occupé, réessayez", "Busy, try again"),
    "error.500": ("Erreur du serveur", "Server error"),
    "error.502": ("Serveur de modèle indisponible", "Model server unavailable"),
    "error.503": ("Service indisponible", "Service unavailable"),
    "error.504": ("Serveur de modèle trop lent", "Model server too slow"),
    "error.home": ("Revenir à l'accueil", "Back to the home page"),
    # --- sign in
    "signin.title": ("Connexion", "Sign in"),
    "signin.intro": (
        "Connectez-vous avec l'identifiant et le mot de passe que vous a donnés votre "
        "administrateur, ou avec une clé d'API.",
        "Sign in with the user name and password your administrator gave you, or with an API key.",
    ),
    "signin.with_password": ("Identifiant et mot de passe", "User name and password"),
    "signin.with_key": ("Clé d'API", "API key"),
    "signin.name": ("Identifiant", "User name"),
    "signin.password": ("Mot de passe", "Password"),
    "signin.key": ("Clé d'API", "API key"),
    "signin.key_hint": ("Elle commence par grf_.", "It starts with grf_."),
    "signin.submit": ("Se connecter", "Sign in"),
    "signin.failed_password": (
        "Identifiant inconnu ou mot de passe incorrect.",
        "Unknown user name or wrong password.",
    ),
    "signin.failed_key": (
        "Cette clé d'API est inconnue, révoquée ou désactivée.",
        "This API key is unknown, revoked or disabled.",
    ),
    "signin.cross_site": (
        "Connexion refusée : le formulaire ne venait pas de ce site.",
        "Sign-in refused: the form did not come from this site.",
    ),
    "signin.signed_out": ("Vous êtes déconnecté·e.", "You are signed out."),
    "signin.throttled": (
        "Trop d'essais de connexion manqués : réessayez dans {seconds} s.",
        "Too many failed sign-ins: try again in {seconds} s.",
    ),
    # --- one's account
    "account.title": ("Mon compte", "My account"),
    "account.who": ("Vous êtes {name} ({role}).", "You are {name} ({role})."),
    "account.notices": ("Vos accès", "Your credentials"),
    "account.notices_hint": (
        "Ce que d'autres ont fait de vos accès : une clé créée pour vous, votre mot de passe "
        "défini. Si vous ne l'avez pas demandé, prévenez un administrateur.",
        "What others did with your credentials: a key made for you, your password set. If "
        "you did not ask for it, tell an administrator.",
    ),
    "account.when": ("Quand (UTC)", "When (UTC)"),
    "account.what": ("Quoi", "What"),
    "account.by": ("Par", "By"),
    "account.approved_by": ("Approuvé par", "Approved by"),
    "account.new": ("nouveau", "new"),
    "account.no_notice": ("Rien à signaler.", "Nothing to report."),
    "account.continue": ("Continuer", "Continue"),
    "account.kind.key.created": (
        "Clé d'API créée pour vous ({prefix}…)",
        "API key made for you ({prefix}…)",
    ),
    "account.kind.key.rotated": (
        "Clé d'API remplacée ({prefix}…)",
        "API key replaced ({prefix}…)",
    ),
    "account.kind.password.set": ("Mot de passe défini", "Password set"),
    # --- chat
    "chat.title": ("Assistant", "Assistant"),
    "chat.history": ("Conversations", "Conversations"),
    "chat.new": ("Nouvelle conversation", "New conversation"),
    "chat.new_title": ("Nouvelle conversation", "New conversation"),
    "chat.no_history": ("Aucune conversation pour l'instant.", "No conversation yet."),
    "chat.delete": ("Supprimer la conversation", "Delete this conversation"),
    "chat.delete_confirm": (
        "Supprimer définitivement cette conversation ?",
        "Delete this conversation for good?",
    ),
    "chat.messages": ("Messages de la conversation", "Messages of the conversation"),
    "chat.empty": (
        "Posez une question. Pour une réponse fondée sur vos documents ou vos réunions, "
        "choisissez-les dans « Sources » : chaque affirmation citera son passage.",
        "Ask a question. For an answer grounded in your documents or meetings, choose them "
        "under “Sources”: each statement will cite its passage.",
    ),
    "chat.model": ("Modèle", "Model"),
    "chat.ground_on": ("Sources", "Sources"),
    "chat.collections": ("Collections de documents", "Document collections"),
    "chat.meetings": ("Réunions", "Meetings"),
    "chat.n_documents": ("{n} document(s)", "{n} document(s)"),
    "chat.no_collections": ("Aucune collection.", "No collection."),
    "chat.no_meetings": ("Aucune réunion transcrite.", "No transcribed meeting."),
    "chat.question": ("Votre question", "Your question"),
    "chat.question_hint": (
        "Entrée pour envoyer, Maj + Entrée pour aller à la ligne.",
        "Enter to send, Shift + Enter for a new line.",
    ),
    "chat.send": ("Envoyer", "Send"),
    "chat.stop": ("Arrêter", "Stop"),
    "chat.sources": ("Sources", "Sources"),
    "chat.page": ("page {page}", "page {page}"),
    "chat.role_user": ("Vous", "You"),
    "chat.role_assistant": ("Greffier", "Greffier"),
    # --- passage
    "passage.title": ("Passage cité", "Cited passage"),
    "passage.meeting": ("Réunion « {title} »", "Meeting “{title}”"),
    "passage.listen_from": ("Écouter à partir de {clock}", "Listen from {clock}"),
    "passage.open_meeting": (
        "Ouvrir la réunion à ce moment",
        "Open the meeting at this moment",
    ),
    "passage.format": ("format {format}", "{format} format"),
    "passage.empty": ("Ce passage n'est plus disponible.", "This passage is gone."),
    # --- documents
    "documents.title": ("Documents", "Documents"),
    "documents.collections": ("Collections", "Collections"),
    "documents.no_collection": (
        "Aucune collection : créez-en une ci-dessous.",
        "No collection: create one below.",
    ),
    "documents.new_collection": ("Nouvelle collection", "New collection"),
    "documents.share_pending": (
        "Cette collection vous a été partagée. Vos recherches et vos questions ne s'en "
        "servent que si vous la choisissez, ou après l'avoir acceptée.",
        "This collection was shared with you. Your searches and questions use it only when "
        "you choose it, or once you accept it.",
    ),
    "documents.accept_share": ("Accepter dans mes recherches", "Accept into my searches"),
    "documents.name": ("Nom", "Name"),
    "documents.description": ("Description", "Description"),
    "documents.sensitivity": ("Sensibilité", "Sensitivity"),
    "documents.create": ("Créer la collection", "Create the collection"),
    "documents.pick": ("Choisissez une collection", "Choose a collection"),
    "documents.drop": ("Déposez vos fichiers ici", "Drop your files here"),
    "documents.choose_files": ("ou choisissez des fichiers", "or choose files"),
    "documents.types": (
        "PDF, DOCX, ODT, HTML, Markdown ou texte.",
        "PDF, DOCX, ODT, HTML, Markdown or text.",
    ),
    "documents.uploads": ("Envois en cours", "Uploads"),
    "documents.search": ("Recherche dans la collection", "Search in the collection"),
    "documents.search_label": ("Rechercher dans cette collection", "Search this collection"),
    "documents.search_button": ("Rechercher", "Search"),
    "documents.documents": ("Documents de la collection", "Documents of the collection"),
    "documents.format": ("Format", "Format"),
    "documents.pages": ("Pages", "Pages"),
    "documents.chunks": ("Passages", "Passages"),
    "documents.status": ("État", "Status"),
    "documents.actions": ("Actions", "Actions"),
    "documents.no_document": ("Aucun document dans cette collection.", "No document yet."),
    "documents.delete_collection": ("Supprimer la collection", "Delete the collection"),
    # --- meetings
    "meetings.title": ("Réunions", "Meetings"),
    "meetings.add": ("Ajouter une réunion", "Add a meeting"),
    "meetings.meeting_title": ("Titre", "Title"),
    "meetings.recording": ("Enregistrement", "Recording"),
    "meetings.file": ("Fichier audio ou vidéo", "Audio or video file"),
    "meetings.file_hint": (
        "WAV, MP3, OGG, WebM, M4A, MP4…",
        "WAV, MP3, OGG, WebM, M4A, MP4…",
    ),
    "meetings.or_record": ("Ou enregistrez depuis ce navigateur", "Or record in this browser"),
    "meetings.record_start": ("Démarrer l'enregistrement", "Start recording"),
    "meetings.record_stop": ("Arrêter l'enregistrement", "Stop recording"),
    "meetings.record_preview": ("Réécouter l'enregistrement", "Play the recording back"),
    "meetings.language": ("Langue", "Language"),
    "meetings.language_auto": ("Détection automatique", "Detect automatically"),
    "meetings.speakers": ("Nombre d'intervenants", "Number of speakers"),
    "meetings.upload": ("Envoyer et transcrire", "Upload and transcribe"),
    "meetings.upload_progress": ("Progression de l'envoi", "Upload progress"),
    "meetings.yours": ("Vos réunions", "Your meetings"),
    "meetings.date": ("Date", "Date"),
    "meetings.duration": ("Durée", "Duration"),
    "meetings.status": ("État", "Status"),
    "meetings.none": ("Aucune réunion pour l'instant.", "No meeting yet."),
    "meetings.back": ("← Toutes les réunions", "← All meetings"),
    "meeting.pending": (
        "Transcription en cours : la page se mettra à jour d'elle-même.",
        "Transcription in progress: this page updates by itself.",
    ),
    "meeting.failed": ("La transcription a échoué.", "The transcription failed."),
    "meeting.recording": ("Enregistrement de la réunion", "Recording of the meeting"),
    "meeting.no_audio": (
        "L'enregistrement n'est plus conservé (politique de conservation).",
        "The recording is no longer kept (retention policy).",
    ),
    "meeting.transcript": ("Transcription", "Transcript"),
    "meeting.transcript_hint": (
        "Cliquez sur une ligne pour écouter ce passage.",
        "Click a line to listen from there.",
    ),
    "meeting.speakers": ("Intervenants", "Speakers"),
    "meeting.rename": ("Enregistrer les noms", "Save the names"),
    "meeting.export": ("Exporter la transcription", "Export the transcript"),
    "meeting.export_transcript": ("transcription", "transcript"),
    "meeting.minutes": ("Compte rendu", "Minutes"),
    "meeting.minutes_none": ("Pas encore de compte rendu.", "No minutes yet."),
    "meeting.minutes_generate": ("Rédiger le compte rendu", "Write the minutes"),
    "meeting.minutes_download": ("Télécharger (Markdown)", "Download (Markdown)"),
    "meeting.minutes_listen": ("Écouter le compte rendu", "Listen to the minutes"),
    "meeting.ask": ("Poser une question", "Ask a question"),
    "meeting.ask_scope": ("Chercher dans", "Search in"),
    "meeting.ask_this": ("cette réunion", "this meeting"),
    "meeting.ask_all": ("toutes mes réunions", "all my meetings"),
    # --- models
    "models.title": ("Modèles", "Models"),
    "models.intro": (
        "Les modèles du catalogue de ce serveur, avec leur licence et leur degré "
        "d'ouverture selon la définition de l'IA open source de l'OSI (poids, données "
        "d'entraînement, code, licence).",
        "The models in this server's catalogue, with their licence and how open they are "
        "under the OSI Open Source AI Definition (weights, training data, code, licence).",
    ),
    "models.verdict": ("Ouverture :", "Openness:"),
    "models.comparison": ("Comparaison des modèles de conversation", "Chat models compared"),
    "models.comparison_intro": (
        "Mesures faites sur ce serveur par « greffier eval bias » et « greffier eval "
        "answers », avec la date, le jeu de données et la version de Greffier qui les ont "
        "produites. Une mesure périmée (modèle ou Greffier changé depuis, ou trop ancienne) "
        "le dit.",
        "Measured on this server by `greffier eval bias` and `greffier eval answers`, with "
        "the date, data set and Greffier version that produced them. A stale result "
        "(model or Greffier changed since, or too old) says so.",
    ),
    "models.comparison_caption": (
        "Fiche de chaque modèle, côte à côte",
        "Each model's card, side by side",
    ),
    "models.measure": ("Mesure", "Measure"),
    "models.parity": ("Parité des jetons, français", "Token parity, French"),
    "models.bias_fr": (
        "Biais (CrowS-Pairs fr) : stéréotype préféré, % [IC 95 %]",
        "Bias (CrowS-Pairs fr): stereotype preferred, % [95 % CI]",
    ),
    "models.bias_en": (
        "Biais (CrowS-Pairs en) : stéréotype préféré, % [IC 95 %]",
        "Bias (CrowS-Pairs en): stereotype preferred, % [95 % CI]",
    ),
    "models.bias_measured": ("Biais mesuré", "Bias measured"),
    "models.bias_shared": ("mots communs seulement", "shared tokens only"),
    "models.cited_first": ("Bonne source citée en premier", "Right source cited first"),
    "models.f1": ("Exactitude (F1 des mots)", "Correctness (token F1)"),
    "models.faithfulness": ("Fidélité aux passages", "Faithfulness to passages"),
    "models.abstention": ("Abstention hors sujet", "Abstention out of domain"),
    "models.seconds": ("Secondes par réponse (médiane)", "Seconds per answer (median)"),
    "models.joules": ("Joules par réponse", "Joules per answer"),
    "models.answers_measured": ("Réponses mesurées", "Answers measured"),
    "models.not_measured": ("non mesuré", "not measured"),
    "models.stale": ("périmé", "stale"),
    "models.chart_title": ("Les modèles comparés (en %)", "The models compared (in %)"),
    "models.chart_caption": (
        "Biais : 50 = aucune préférence mesurée. Autres mesures : plus haut est meilleur.",
        "Bias: 50 = no measured preference. Other measures: higher is better.",
    ),
    "models.bias_fr_short": ("biais fr", "bias fr"),
    "models.bias_en_short": ("biais en", "bias en"),
    "models.cited_first_short": ("source 1re", "source 1st"),
    "models.f1_short": ("F1", "F1"),
    "models.faithfulness_short": ("fidélité", "faithful"),
    "models.abstention_short": ("abstention", "abstention"),
    "models.id": ("Identifiant", "Id"),
    "models.role": ("Rôle", "Role"),
    "models.role_chat": ("conversation", "chat"),
    "models.role_embedding": ("plongements (recherche)", "embeddings (search)"),
    "models.role_speech": ("transcription de la parole", "speech to text"),
    "models.role_speaker": ("reconnaissance des intervenants", "speaker recognition"),
    "models.role_voice": (
        "synthèse vocale (lecture à voix haute)",
        "text to speech (reading aloud)",
    ),
    "models.licence": ("Licence", "Licence"),
    "models.backend": ("Moteur", "Backend"),
    "models.context": ("Contexte", "Context"),
    "models.base": ("Modèle de base", "Base model"),
    "models.adapter": ("Adaptation (LoRA)", "Adaptation (LoRA)"),
    "models.adapter_facts": (
        "{steps} pas sur {dataset} ({examples} conversations, SHA-256 {sha})",
        "{steps} steps on {dataset} ({examples} conversations, SHA-256 {sha})",
    ),
    "models.tokens": ("{n} jetons", "{n} tokens"),
    "models.state": ("Sur ce serveur", "On this server"),
    "models.available": ("disponible", "available"),
    "models.not_pulled": ("non téléchargé", "not pulled"),
    "models.card": ("Fiche d'ouverture", "Openness card"),
    "models.component": ("Composant", "Component"),
    "models.status": ("Statut", "Status"),
    "models.note": ("Précisions", "Notes"),
    "models.source": ("source :", "source:"),
    "models.component_weights": ("Poids", "Weights"),
    "models.component_training_data": ("Données d'entraînement", "Training data"),
    "models.component_training_code": ("Code d'entraînement", "Training code"),
    "models.component_evaluation_code": ("Code d'évaluation", "Evaluation code"),
    "models.component_licence": ("Licence", "Licence"),
    "models.status_open": ("ouvert", "open"),
    "models.status_restricted": ("restreint", "restricted"),
    "models.status_closed": ("fermé", "closed"),
    "models.status_unknown": ("inconnu", "unknown"),
    # --- admin
    "admin.title": ("Administration", "Administration"),
    "admin.sections": ("Rubriques d'administration", "Administration sections"),
    "admin.section_users": ("Utilisateurs", "Users"),
    "admin.section_keys": ("Clés d'API", "API keys"),
    "admin.section_groups": ("Groupes", "Groups"),
    "admin.section_quotas": ("Quotas", "Quotas"),
    "admin.section_audit": ("Journal d'audit", "Audit log"),
    "admin.name": ("Nom", "Name"),
    "admin.role": ("Rôle", "Role"),
    "admin.state": ("État", "State"),
    "admin.password": ("Mot de passe", "Password"),
    "admin.password_hint": (
        "12 caractères au moins ; vide : connexion par clé seulement",
        "12 characters or more; empty: key sign-in only",
    ),
    "admin.created": ("Créé le", "Created"),
    "admin.actions": ("Actions", "Actions"),
    "admin.active": ("actif", "active"),
    "admin.disabled": ("désactivé", "disabled"),
    "admin.inactive": ("inactive", "inactive"),
    "admin.revoked": ("révoquée", "revoked"),
    "admin.yes": ("oui", "yes"),
    "admin.no": ("non", "no"),
    "admin.enable": ("Réactiver", "Enable"),
    "admin.disable": ("Désactiver", "Disable"),
    "admin.make_admin": ("Nommer administrateur", "Make admin"),
    "admin.make_member": ("Retirer le rôle d'administrateur", "Remove admin role"),
    "admin.new_password": ("nouveau mot de passe", "new password"),
    "admin.new_password_for": ("Nouveau mot de passe de {name}", "New password for {name}"),
    "admin.set_password": ("Définir", "Set"),
    "admin.new_user": ("Nouvel utilisateur", "New user"),
    "admin.create_user": ("Créer l'utilisateur", "Create the user"),
    "admin.user": ("Utilisateur", "User"),
    "admin.prefix": ("Début de la clé", "Key starts with"),
    "admin.label": ("Libellé", "Label"),
    "admin.last_used": ("Dernière utilisation", "Last used"),
    "admin.expires": ("Expire le", "Expires"),
    "admin.expires_days": ("Expire dans (jours)", "Expires in (days)"),
    "admin.revoke": ("Révoquer", "Revoke"),
    "admin.revoke_confirm": (
        "Révoquer cette clé ? Elle cessera de fonctionner immédiatement.",
        "Revoke this key? It stops working at once.",
    ),
    "admin.create_key": ("Créer une clé", "Create a key"),
    "admin.key_once": (
        "Voici la nouvelle clé. Copiez-la maintenant : elle ne sera plus jamais affichée.",
        "Here is the new key. Copy it now: it will never be shown again.",
    ),
    "admin.new_key": ("Nouvelle clé", "New key"),
    "admin.members": ("Membres :", "Members:"),
    "admin.no_members": ("aucun", "none"),
    "admin.group": ("Groupe", "Group"),
    "admin.group_tag": ("groupe {name}", "group {name}"),
    "admin.member_name": ("Nom du membre", "Member name"),
    "admin.member_kind": ("Type de membre", "Kind of member"),
    "admin.add_member": ("Ajouter", "Add"),
    "admin.remove_member": ("Retirer", "Remove"),
    "admin.delete_group": ("Supprimer le groupe", "Delete the group"),
    "admin.delete_group_confirm": ("Supprimer ce groupe ?", "Delete this group?"),
    "admin.no_groups": ("Aucun groupe.", "No group."),
    "admin.new_group": ("Nouveau groupe", "New group"),
    "admin.create_group": ("Créer le groupe", "Create the group"),
    "admin.subject": ("Clé ou groupe", "Key or group"),
    "admin.rpm": ("Requêtes par minute", "Requests per minute"),
    "admin.tpd": ("Jetons par jour", "Tokens per day"),
    "admin.empty_none": ("vide : sans limite", "empty: no limit"),
    "admin.no_quotas": ("Aucun quota.", "No quota."),
    "admin.set_quota": ("Fixer le quota", "Set the quota"),
    "admin.action": ("Action", "Action"),
    "admin.filter": ("Filtrer", "Filter"),
    "admin.audit_latest": ("Dernières entrées ({n})", "Latest entries ({n})"),
    "admin.when": ("Date", "When"),
    "admin.status_code": ("Statut", "Status"),
    "admin.model": ("Modèle", "Model"),
    "admin.query": ("Question", "Query"),
    "admin.resources": ("Documents et réunions", "Documents and meetings"),
    "admin.no_entries": ("Aucune entrée.", "No entry."),
    "admin.audit_export": ("Exporter ces entrées :", "Export these entries:"),
    "admin.done.user_created": ("Utilisateur créé.", "User created."),
    "admin.done.user_disabled": (
        "Utilisateur désactivé : ses sessions et ses clés ne fonctionnent plus.",
        "User disabled: their sessions and keys no longer work.",
    ),
    "admin.done.user_enabled": ("Utilisateur réactivé.", "User enabled."),
    "admin.done.role_changed": ("Rôle modifié.", "Role changed."),
    "admin.done.password_set": ("Mot de passe défini.", "Password set."),
    "admin.done.key_created": ("Clé créée.", "Key created."),
    "admin.done.request_recorded": (
        "Demande enregistrée : cette personne a déjà des accès ou des contenus, un second "
        "administrateur doit l'approuver (Clés d'API).",
        "Request recorded: this person already has credentials or content, so a second "
        "administrator must approve it (API keys).",
    ),
    "admin.done.request_approved": ("Demande approuvée.", "Request approved."),
    "admin.done.request_cancelled": ("Demande annulée.", "Request cancelled."),
    "admin.requests": ("Demandes à approuver", "Requests to approve"),
    "admin.requests_hint": (
        "Une clé ou un mot de passe pour quelqu'un qui a déjà des accès ou des contenus "
        "attend l'accord d'un second administrateur ; la personne en est informée.",
        "A key or password for someone who already has credentials or content waits for a "
        "second administrator; the person is told.",
    ),
    "admin.request_kind": ("Demande", "Request"),
    "admin.request_kind.key": ("clé d'API", "API key"),
    "admin.request_kind.password": ("mot de passe", "password"),
    "admin.replaces": ("remplace la clé {id}", "replaces key {id}"),
    "admin.requested_by": ("Demandée par", "Requested by"),
    "admin.approve": ("Approuver", "Approve"),
    "admin.cancel_request": ("Annuler", "Cancel"),
    "admin.awaiting_other": ("en attente d'un autre administrateur", "awaiting another admin"),
    "admin.no_requests": ("Aucune demande en attente.", "No pending request."),
    "admin.done.key_revoked": ("Clé révoquée.", "Key revoked."),
    "admin.done.group_created": ("Groupe créé.", "Group created."),
    "admin.done.group_deleted": ("Groupe supprimé.", "Group deleted."),
    "admin.done.member_added": ("Membre ajouté.", "Member added."),
    "admin.done.member_removed": ("Membre retiré.", "Member removed."),
    "admin.done.quota_set": ("Quota enregistré.", "Quota saved."),
    # --- sharing
    "sharing.title": ("Partage", "Sharing"),
    "sharing.intro": (
        "Qui d'autre peut consulter, modifier ou gérer ceci. Un refus l'emporte sur tout accès.",
        "Who else may read, change or manage this. A deny wins over any grant.",
    ),
    "sharing.who": ("Personne ou groupe", "Person or group"),
    "sharing.permission": ("Droit", "Permission"),
    "sharing.kind": ("Partager avec", "Share with"),
    "sharing.name": ("Nom", "Name"),
    "sharing.give": ("Partager", "Share"),
    "sharing.level_read": ("lecture", "read"),
    "sharing.level_write": ("modification", "write"),
    "sharing.level_manage": ("gestion", "manage"),
    "sharing.level_deny": ("refus", "deny"),
    # --- scripts
    "js.session_ended": (
        "Votre session a pris fin : reconnectez-vous.",
        "Your session has ended: sign in again.",
    ),
    "js.network_error": (
        "Le serveur ne répond pas. Vérifiez qu'il fonctionne.",
        "The server does not answer. Check that it is running.",
    ),
    "js.loading": ("Chargement…", "Loading…"),
    "js.thinking": ("Recherche et rédaction…", "Searching and writing…"),
    "js.answering": ("Réponse en cours de rédaction.", "The answer is being written."),
    "js.answered": ("Réponse terminée.", "Answer complete."),
    "js.stopped": ("Réponse interrompue.", "Answer stopped."),
    "js.role_user": ("Vous", "You"),
    "js.role_assistant": ("Greffier", "Greffier"),
    "js.sources": ("Sources", "Sources"),
    "js.feedback_label": ("Votre avis sur cette réponse", "Your opinion of this answer"),
    "js.feedback_up": ("Utile", "Helpful"),
    "js.feedback_down": ("À corriger", "Needs correcting"),
    "js.feedback_correction": (
        "La bonne réponse (facultatif)",
        "The right answer (optional)",
    ),
    "js.feedback_reason": ("Pourquoi (facultatif)", "Why (optional)"),
    "js.feedback_send": ("Envoyer la correction", "Send the correction"),
    "js.feedback_thanks": (
        "Merci, votre avis est enregistré.",
        "Thank you, your opinion is saved.",
    ),
    "js.source_n": ("Source {n} : {document}", "Source {n}: {document}"),
    "js.page": ("page {page}", "page {page}"),
    "js.unsupported": ("non étayé", "unsupported"),
    "js.unsupported_title": (
        "Aucun passage cité n'appuie cette phrase : vérifiez-la.",
        "No cited passage supports this sentence: check it.",
    ),
    "js.n_sources": ("({n} choisie(s))", "({n} chosen)"),
    "js.no_source": ("(aucune : réponse sans documents)", "(none: answer without documents)"),
    "js.n_documents": ("{n} doc.", "{n} doc."),
    "js.pick_collection": ("Choisissez une collection", "Choose a collection"),
    "js.share_new": ("partage à accepter", "share to accept"),
    "js.share_accepted": (
        "« {name} » fait maintenant partie de vos recherches.",
        "“{name}” is now part of your searches.",
    ),
    "js.sensitivity_public": ("public", "public"),
    "js.sensitivity_internal": ("interne", "internal"),
    "js.sensitivity_sensitive": ("sensible", "sensitive"),
    "js.sensitivity_secret": ("secret", "secret"),
    "js.status_pending": ("en attente", "pending"),
    "js.status_indexed": ("indexé", "indexed"),
    "js.status_failed": ("refusé", "refused"),
    "js.delete": ("Supprimer", "Delete"),
    "js.delete_document_confirm": ("Supprimer « {name} » ?", "Delete “{name}”?"),
    "js.delete_collection_confirm": (
        "Supprimer la collection « {name} » et tous ses documents ?",
        "Delete the collection “{name}” and all its documents?",
    ),
    "js.deleted": ("« {name} » supprimé.", "“{name}” deleted."),
    "js.collection_created": ("Collection « {name} » créée.", "Collection “{name}” created."),
    "js.upload_of": ("Envoi de {name}", "Upload of {name}"),
    "js.waiting": ("en attente", "waiting"),
    "js.sending": ("envoi : {p} %", "uploading: {p}%"),
    "js.indexing": ("indexation…", "indexing…"),
    "js.indexed": ("indexé ({n} passages)", "indexed ({n} passages)"),
    "js.unchanged": ("inchangé (déjà indexé)", "unchanged (already indexed)"),
    "js.refused": ("refusé", "refused"),
    "js.uploading": ("Envoi de {n} fichier(s)…", "Uploading {n} file(s)…"),
    "js.uploads_done": ("Envois terminés.", "Uploads finished."),
    "js.searching": ("Recherche…", "Searching…"),
    "js.results": ("{n} résultat(s)", "{n} result(s)"),
    "js.meeting_pending": ("transcription en cours", "being transcribed"),
    "js.meeting_transcribed": ("transcrite", "transcribed"),
    "js.meeting_failed": ("échec", "failed"),
    "js.meeting_needs_title": ("Donnez un titre à la réunion.", "Give the meeting a title."),
    "js.meeting_needs_audio": (
        "Choisissez un fichier ou enregistrez la réunion.",
        "Choose a file or record the meeting.",
    ),
    "js.meeting_uploaded": (
        "Réunion envoyée : la transcription commence.",
        "Meeting uploaded: transcription starts.",
    ),
    "js.record_unsupported": (
        "Ce navigateur ne permet pas d'enregistrer.",
        "This browser cannot record.",
    ),
    "js.record_denied": (
        "Le micro n'est pas accessible (autorisation refusée ?).",
        "The microphone is not available (permission refused?).",
    ),
    "js.recording": ("Enregistrement en cours…", "Recording…"),
    "js.record_ready": (
        "Enregistrement prêt : donnez un titre puis envoyez-le.",
        "Recording ready: give it a title, then upload it.",
    ),
    "js.listen_from": (
        "Écouter à partir de {clock} ({speaker})",
        "Listen from {clock} ({speaker})",
    ),
    "js.no_transcript": ("Pas de transcription.", "No transcript."),
    "js.speaker_label": ("Nom de {label}", "Name of {label}"),
    "js.speakers_renamed": ("{n} nom(s) enregistré(s).", "{n} name(s) saved."),
    "js.minutes_writing": (
        "Rédaction du compte rendu par le modèle (cela peut prendre quelques minutes)…",
        "The model is writing the minutes (this may take a few minutes)…",
    ),
    "js.minutes_regenerate": ("Rédiger à nouveau", "Write again"),
    "js.group_named": ("groupe {name}", "group {name}"),
    "js.revoke": ("Retirer", "Remove"),
    "js.revoked": ("Accès retiré : {who}.", "Access removed: {who}."),
    "js.shared": ("Partagé avec {who}.", "Shared with {who}."),
    "js.not_shared": ("Partagé avec personne.", "Shared with nobody."),
    "js.level_read": ("lecture", "read"),
    "js.level_write": ("modification", "write"),
    "js.level_manage": ("gestion", "manage"),
    "js.level_deny": ("refus", "deny"),
    # --- voice: ask aloud, hear answers and minutes
    "chat.mic": ("Poser la question à voix haute", "Ask aloud"),
    "chat.mic_hint": (
        "Appuyez, parlez, puis appuyez de nouveau : la question est transcrite, la réponse "
        "s'affiche avec ses sources et vous est lue.",
        "Press, speak, then press again: your question is transcribed, and the answer is "
        "shown with its sources and read to you.",
    ),
    "js.mic_start": ("Poser la question à voix haute", "Ask aloud"),
    "js.mic_stop": ("Arrêter et envoyer", "Stop and send"),
    "js.mic_recording": (
        "Enregistrement en cours : parlez, puis appuyez sur « Arrêter et envoyer ».",
        "Recording: speak, then press “Stop and send”.",
    ),
    "js.mic_transcribing": ("Transcription de votre question…", "Transcribing your question…"),
    "js.mic_heard": ("Question entendue : {text}", "Question heard: {text}"),
    "js.mic_nothing": (
        "Aucune parole n'a été entendue. Réessayez.",
        "No speech was heard. Try again.",
    ),
    "js.mic_unavailable": (
        "Le micro n'est pas accessible : {error}",
        "The microphone is not available: {error}",
    ),
    "js.listen": ("Écouter", "Listen"),
    "js.listen_answer": ("Écouter la réponse", "Listen to the answer"),
    "js.listen_stop": ("Arrêter la lecture", "Stop reading"),
    "js.voice_preparing": ("Préparation de la voix…", "Preparing the voice…"),
    "js.voice_playing": ("Lecture à voix haute en cours.", "Reading aloud."),
    "js.voice_ended": ("Lecture terminée.", "Finished reading."),
    "js.voice_player": ("Lecture à voix haute", "Reading aloud"),
}

_VERDICTS_FR = {
    "open source AI (weights, data, code and licence open)": (
        "IA open source (poids, données, code et licence ouverts)"
    ),
    "open weights only: training data and training code not open": (
        "poids ouverts seulement : données et code d'entraînement non ouverts"
    ),
    "open weights only: training data not open": (
        "poids ouverts seulement : données d'entraînement non ouvertes"
    ),
    "open weights only: training code not open": (
        "poids ouverts seulement : code d'entraînement non ouvert"
    ),
    "weights available under restrictions: not open source": (
        "poids disponibles sous restrictions : pas open source"
    ),
    "closed": "fermé",
}


def text(lang: str, key: str, **values) -> str:
    """The message ``key`` in ``lang`` with its ``{name}`` fields filled; an unknown key
    shows as itself (and a test fails)."""
    pair = MESSAGES.get(key)
    if pair is None:
        if key.startswith("error."):
            pair = MESSAGES["error.title"]
        else:
            return key
    message = pair[LANGUAGES.index(lang)] if lang in LANGUAGES else pair[0]
    for name, value in values.items():
        message = message.replace("{" + name + "}", str(value))
    return message


def verdict(lang: str, value: str) -> str:
    """A model's openness verdict (written in English by the catalogue) in ``lang``."""
    return _VERDICTS_FR.get(value, value) if lang == "fr" else value


def script_strings(lang: str) -> dict[str, str]:
    index = LANGUAGES.index(lang) if lang in LANGUAGES else 0
    return {k: v[index] for k, v in MESSAGES.items() if k.startswith("js.")}
