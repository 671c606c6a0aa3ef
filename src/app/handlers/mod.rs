//! The dashboard-level side of each pane and overlay: how its keys, actions and actor events fold
//! into [`super::AppState`] and which effects they return. The panes' own state (app/ab.rs,
//! bench.rs, chat.rs, ...) imports nothing of `AppState`, so the import arrows run one way:
//! handlers -> state -> panes.
mod ab;
mod bench;
mod chat;
mod component;
mod conversation;
mod inspector;
mod layers;
mod models;
mod profiles;
mod rag;
mod sampler;
mod server;
mod view;
