//! Engines on other machines: llama-server, vLLM, Ollama or another gemma-tui, spoken to over the
//! OpenAI HTTP API.
