"""Fine-tuning a catalogue model on CPU: LoRA with PEFT over the GGUF base, then the adapter
in llama.cpp's format (imported only by ``greffier finetune``: it needs the finetune extra)."""
