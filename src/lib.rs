//! gemma-tui: a terminal dashboard for running, tuning and measuring a local Gemma 3 model.
//!
//! The modules follow the message flow: `engine` is the model itself (GGUF, tokenizer, forward pass),
//! `sampling` the pure sampler chain, `actors` the actix actors that own engine and state, `app` the
//! pure dashboard state and key handling, `ui` the ratatui panes that draw it, `models` the model
//! cache, `serve` the OpenAI-compatible server's slots and routes, `remote` the client for engines
//! on other machines, `cli` and `runtime` the command line, the terminal loop and the wiring of the actors.
pub mod actors;
pub mod app;
pub mod bench;
pub mod config;
pub mod conversations;
pub mod engine;
pub mod kalosm;
pub mod logging;
pub mod models;
pub mod rag;
pub mod remote;
pub mod runtime;
pub mod sampling;
pub mod serve;
pub mod ui;
