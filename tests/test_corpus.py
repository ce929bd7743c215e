"""Parallel corpora: a fake Debian Reference with the real XHTML structure, and text files."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest

from greffier.tokens.corpus import (
    LANGUAGES,
    CorpusNotInstalledError,
    ParallelCorpus,
    load_debian_reference,
    load_directory,
)

# Per language: the words of the fake manual. "untranslated" is left in English in French,
# as the real translations do for paragraphs nobody has translated yet.
WORDS = {
    "en": {
        "chapter": "Chapter",
        "tutorials": "Tutorials",
        "intro": "This chapter explains the basics of the system.",
        "prompt": "The shell prompt waits for your commands.",
        "enter": "Type a command and press Enter.",
        "root": "The root account can change the whole system.",
        "warning": "Warning",
        "careful": "Be careful with this account.",
        "short": "See below.",
        "packages": "Packages are installed with the package manager.",
        "table": "Table 2.1. List of package tools",
        "untranslated": "This paragraph was never translated into another language.",
        "english_only": "This section exists only in English and French translations.",
        "archive": "The Debian archive holds many thousands of packages.",
        "appendix": "The appendix lists the history of this document.",
        "abstract": "This manual gives a broad overview of the system.",
    },
    "fr": {
        "chapter": "Chapitre",
        "tutorials": "Didacticiels",
        "intro": "Ce chapitre explique les bases du système.",
        "prompt": "L’invite de l’interpréteur attend vos commandes.",
        "enter": "Tapez une commande et appuyez sur Entrée.",
        "root": "Le compte root peut modifier tout le système.",
        "warning": "Avertissement",
        "careful": "Soyez prudent avec ce compte.",
        "short": "Voir ci-dessous.",
        "packages": "Les paquets sont installés avec le gestionnaire de paquets.",
        "table": "Tableau 2.1. Liste des outils de paquets",
        "untranslated": "This paragraph was never translated into another language.",
        "english_only": "Cette section n’existe qu’en anglais et en français.",
        "archive": "L’archive Debian contient plusieurs milliers de paquets.",
        "appendix": "L’annexe retrace l’historique de ce document.",
        "abstract": "Ce manuel donne une vue d’ensemble du système.",
    },
    "de": {
        "chapter": "Kapitel",
        "tutorials": "Einführungen",
        "intro": "Dieses Kapitel erklärt die Grundlagen des Systems.",
        "prompt": "Die Eingabeaufforderung der Shell wartet auf Ihre Befehle.",
        "enter": "Geben Sie einen Befehl ein und drücken Sie die Eingabetaste.",
        "root": "Das Root-Konto kann das ganze System verändern.",
        "warning": "Warnung",
        "careful": "Seien Sie mit diesem Konto vorsichtig.",
        "short": "Siehe unten.",
        "packages": "Pakete werden mit der Paketverwaltung installiert.",
        "table": "Tabelle 2.1. Liste der Paketwerkzeuge",
        "untranslated": "Dieser Absatz wurde ins Deutsche übersetzt.",
        "english_only": None,  # this section is missing in German
        "archive": "Das Debian-Archiv enthält viele tausend Pakete.",
        "appendix": "Der Anhang beschreibt die Geschichte dieses Dokuments.",
        "abstract": "Dieses Handbuch gibt einen Überblick über das System.",
    },
}


def page(lang: str, title: str, body: str) -> str:
    """A page as DocBook XSL writes it: XHTML, self-closed anchors, navigation around."""
    return f"""<?xml version="1.0" encoding="UTF-8" standalone="no"?>
<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.1//EN" "http://www.w3.org/TR/xhtml11/DTD/xhtml11.dtd">
<html xmlns="http://www.w3.org/1999/xhtml">
  <head>
    <title>{title}</title>
    <link rel="home" href="index.{lang}.html" title="Debian Reference"/>
  </head>
  <body>
    <div class="navheader">
      <table width="100%" summary="Navigation header">
        <tr><th colspan="3" align="center">{title} navheadertext</th></tr>
      </table>
      <hr/>
    </div>
    {body}
    <div class="navfooter">
      <hr/>
      <table><tr><td align="left" valign="top">{title} navfootertext</td></tr></table>
    </div>
  </body>
</html>
"""


def heading(level: int, anchor: str, title: str) -> str:
    return (
        '<div class="titlepage"><div><div>'
        f'<h{level} class="title"><a id="{anchor}"/>{title}</h{level}>'
        "</div></div></div>"
    )


def manual(lang: str) -> dict[str, str]:
    w = WORDS[lang]
    chapter = f"{w['chapter']} 1. {w['tutorials']}"
    ch01 = f"""<div class="chapter">{heading(1, "_tutorials", chapter)}
      <div class="toc"><p><strong>Contents tocword</strong></p>
        <dl class="toc"><dt><span class="section">
          <a href="ch01.{lang}.html#_console_basics">1.1. tocentry</a></span></dt></dl>
      </div>
      <p>{w["intro"]}</p>
      <div class="section">{heading(2, "_console_basics", "1.1. Console")}
        <div class="section">{heading(3, "_the_shell_prompt", "1.1.1. Shell")}
          <p>{w["prompt"]}</p>
          <pre class="screen">$ ls -l /etc screenword</pre>
          <pre>preword</pre>
          <pre class="programlisting">for i in 1 2 3; do echo programword; done</pre>
          <div class="literallayout"><p>literalword literalword literalword</p></div>
          <p>{w["enter"]}  The
             <code class="literal">debconf</code>(7) tool.</p>
          <div class="section">{heading(4, "_the_root_account", "1.1.1.1. root")}
            <p>{w["root"]}</p>
            <div class="warning"><table border="0" summary="Warning">
              <tr><td><img alt="[Warning]" src="images/warning.png"/></td>
                  <th align="left">{w["warning"]}</th></tr>
              <tr><td align="left" valign="top"><p>{w["careful"]}</p></td></tr>
            </table></div>
          </div>
        </div>
        <div class="section">{heading(3, "_short", "1.1.2. Short")}<p>{w["short"]}</p></div>
      </div>
    </div>"""
    english_only = ""
    if w["english_only"]:
        english_only = f"""<div class="section">{heading(2, "_english_only", "2.1. Only")}
        <p>{w["english_only"]}</p></div>"""
    ch02 = f"""<div class="chapter">{heading(1, "_package_management", "2. Packages")}
      <p>{w["packages"]}</p>
      <div class="table"><a id="listofpackagetools"/>
        <p class="title"><strong>{w["table"]}</strong></p>
        <div class="table-contents"><table><tr><td>apt</td><td>V:500, I:999</td>
          <td>commandline package manager</td></tr></table></div></div>
      <p>{w["untranslated"]}</p>
      {english_only}
      <div class="section">{heading(2, "_archive", "2.2. Archive")}<p>{w["archive"]}</p></div>
    </div>"""
    index = f"""<div class="book"><div class="titlepage"><div><div>
      <h1 class="title"><a id="idm1"/>Debian Reference</h1></div><div>
      <div class="author"><h3 class="author"><span class="othername">Osamu Aoki</span></h3>
      </div></div><div><div class="abstract"><p>{w["abstract"]}</p></div></div></div></div>
      <div class="toc"><p>tocword</p></div></div>"""
    apa = f"""<div class="appendix">{heading(1, "_appendix", "A. Appendix")}
      <p>{w["appendix"]}</p></div>"""
    return {
        "apa": page(lang, "Appendix", apa),
        "ch02": page(lang, "Chapter 2", ch02),
        "ch01": page(lang, "Chapter 1", ch01),
        "index": page(lang, "Debian Reference", index),
    }


@pytest.fixture
def share(tmp_path: Path) -> Path:
    """A fake /usr/share with a debian-reference directory in en, fr, de and a changelog."""
    directory = tmp_path / "share" / "debian-reference"
    directory.mkdir(parents=True)
    for lang in ("en", "fr", "de"):
        for stem, html in manual(lang).items():
            (directory / f"{stem}.{lang}.html").write_text(html, encoding="utf-8")
    (directory / "index.html").write_text("<html><body>redirect</body></html>", encoding="utf-8")
    doc = tmp_path / "share" / "doc" / "debian-reference-common"
    doc.mkdir(parents=True)
    with gzip.open(doc / "changelog.gz", "wt", encoding="utf-8") as f:
        f.write("debian-reference (2.100) unstable; urgency=medium\n\n  * Release.\n")
    return directory


def test_sections_are_aligned_in_reading_order(share: Path) -> None:
    corpus = load_debian_reference(share, ("en", "fr", "de"))
    assert corpus.languages == ("en", "fr", "de")
    assert corpus.source == f"debian-reference 2.100 (GPL-2+), {share}"
    firsts = [section["en"].split("\n")[0] for section in corpus.sections]
    assert firsts == [
        WORDS["en"]["intro"],
        WORDS["en"]["prompt"],
        WORDS["en"]["root"],
        WORDS["en"]["packages"],
        WORDS["en"]["archive"],
        WORDS["en"]["appendix"],
    ]
    for section in corpus.sections:
        assert set(section) == {"en", "fr", "de"}
    assert corpus.sections[2] == {
        lang: "\n".join([WORDS[lang]["root"], WORDS[lang]["warning"], WORDS[lang]["careful"]])
        for lang in ("en", "fr", "de")
    }


def test_listings_navigation_and_unshared_text_are_dropped(share: Path) -> None:
    corpus = load_debian_reference(share, ("en", "fr", "de"))
    everything = "\n".join(t for lang in corpus.languages for t in corpus.texts(lang))
    for word in (
        "screenword",
        "preword",
        "programword",
        "literalword",
        "navheadertext",
        "navfootertext",
    ):
        assert word not in everything
    for word in ("tocword", "tocentry", "Osamu", "1.1.1. Shell", "redirect"):
        assert word not in everything
    for lang in ("en", "fr", "de"):
        assert WORDS[lang]["abstract"] not in everything  # after an unanchored heading
        assert WORDS[lang]["short"] not in everything  # fewer than 3 words
    assert "exists only in English" not in everything  # missing in German
    # Blocks the same in two languages: untranslated text, package names, numbers.
    assert "never translated" not in everything
    assert WORDS["de"]["untranslated"] not in everything
    assert "V:500" not in everything and "commandline" not in everything
    packages = corpus.sections[3]
    assert packages["fr"] == f"{WORDS['fr']['packages']}\n{WORDS['fr']['table']}"


def test_text_is_normalised(share: Path) -> None:
    (share / "apa.fr.html").write_text(
        manual("fr")["apa"].replace("retrace", "re\n   trace\u0301 "), encoding="utf-8"
    )
    corpus = load_debian_reference(share, ("en", "fr", "de"))
    prompt = corpus.sections[1]["en"].split("\n")
    assert prompt[1] == f"{WORDS['en']['enter']} The debconf(7) tool."
    assert corpus.sections[-1]["fr"] == "L’annexe re trac\u00e9 l’historique de ce document."


def test_texts_and_languages(share: Path) -> None:
    corpus = load_debian_reference(share, ("fr", "en"))
    assert corpus.languages == ("fr", "en")
    assert corpus.texts("fr")[0] == WORDS["fr"]["intro"]
    assert len(corpus.texts("en")) == len(corpus) == len(corpus.sections)
    # Without German, the section German lacks is kept.
    assert any(WORDS["fr"]["english_only"] in t for t in corpus.texts("fr"))
    with pytest.raises(ValueError, match="'de'"):
        corpus.texts("de")


def test_missing_language_says_what_to_install(share: Path) -> None:
    with pytest.raises(CorpusNotInstalledError) as caught:
        load_debian_reference(share, ("en", "fr", "it"))
    assert isinstance(caught.value, FileNotFoundError)
    assert "apt-get install debian-reference-it" in str(caught.value)
    with pytest.raises(FileNotFoundError, match="debian-reference-es debian-reference-it"):
        load_debian_reference(share)
    assert LANGUAGES == ("en", "fr", "de", "es", "it")


def test_source_without_changelog(tmp_path: Path, share: Path) -> None:
    (tmp_path / "share" / "doc" / "debian-reference-common" / "changelog.gz").unlink()
    corpus = load_debian_reference(share, ("en", "de"))
    assert corpus.source == f"debian-reference (GPL-2+), {share}"


def synthetic(n: int) -> ParallelCorpus:
    sections = [{"en": f"section {i}", "fr": f"partie {i}"} for i in range(n)]
    return ParallelCorpus(("en", "fr"), sections, "synthetic")


def test_split_is_deterministic_disjoint_and_covering(share: Path) -> None:
    corpus = synthetic(50)
    train, test = corpus.split(held_out=0.2, seed=3)
    assert (train, test) == corpus.split(held_out=0.2, seed=3)
    assert [s["en"] for s in test.sections] != [s["en"] for s in corpus.split(0.2, 4)[1].sections]
    assert len(test) == 10 and len(train) == 40
    ids = [s["en"] for s in train.sections] + [s["en"] for s in test.sections]
    assert sorted(ids) == sorted(s["en"] for s in corpus.sections)
    assert len(set(ids)) == 50
    assert train.sections == sorted(train.sections, key=lambda s: int(s["en"].split()[1]))
    assert train.languages == test.languages == ("en", "fr")
    real_train, real_test = load_debian_reference(share, ("en", "fr", "de")).split()
    assert len(real_train) == 5 and len(real_test) == 1


def test_split_edges() -> None:
    for held_out in (0.01, 0.99):
        train, test = synthetic(2).split(held_out)
        assert len(train) == len(test) == 1
    assert len(synthetic(1).split()[0]) == 1
    for bad in (0.0, 1.0, -0.5):
        with pytest.raises(ValueError, match="held_out"):
            synthetic(5).split(bad)


def test_load_directory_aligns_paragraphs(tmp_path: Path) -> None:
    (tmp_path / "notice.en.txt").write_text(
        "Opening hours.\n\n\n  Closed on\nSundays.\n", encoding="utf-8"
    )
    (tmp_path / "notice.fr.txt").write_text(
        "Horaires d’ouverture.\n \nFermé le\ndimanche.", encoding="utf-8"
    )
    (tmp_path / "letter.en.txt").write_text("Dear citizen,", encoding="utf-8")
    (tmp_path / "letter.fr.txt").write_text("\ufeffCher citoyen,", encoding="utf-8")
    (tmp_path / "letter.de.txt").write_text("Liebe Bürgerin, lieber Bürger,", encoding="utf-8")
    (tmp_path / "README.txt").write_text("not a translation", encoding="utf-8")
    (tmp_path / "notes.md").write_text("ignored", encoding="utf-8")
    corpus = load_directory(tmp_path)
    assert corpus.languages == ("en", "fr")
    assert corpus.sections == [
        {"en": "Dear citizen,", "fr": "Cher citoyen,"},
        {"en": "Opening hours.", "fr": "Horaires d’ouverture."},
        {"en": "Closed on Sundays.", "fr": "Fermé le dimanche."},
    ]
    assert load_directory(tmp_path, ["fr"]).texts("fr")[2] == "Fermé le dimanche."
    with pytest.raises(ValueError, match=r"'notice'.*de"):
        load_directory(tmp_path, ["en", "de"])


def test_load_directory_refuses_mismatched_paragraphs(tmp_path: Path) -> None:
    (tmp_path / "form.en.txt").write_text("Name.\n\nAddress.", encoding="utf-8")
    (tmp_path / "form.it.txt").write_text("Nome e indirizzo.", encoding="utf-8")
    with pytest.raises(ValueError, match="'form'"):
        load_directory(tmp_path)
    with pytest.raises(FileNotFoundError):
        load_directory(tmp_path / "absent")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="no <name>"):
        load_directory(tmp_path / "empty")
