//! The inference actor: owns the model and the conversation's KV cache on its own thread (a
//! `SyncArbiter`), so the forward pass never blocks the async executor or the UI.
mod actor;
mod bench;
mod constrain;
mod messages;
mod remote;
mod switch;
mod switch_remote;

pub use actor::{start, EngineSink, InferenceActor, InferenceHandle};
pub use bench::{RunAb, RunBench};
pub use messages::{
    ChatTurn, EngineEvent, Generate, LoadModel, ModelSource, ModelSummary, Prompt, RemoteEvent,
    ReplyStats, ResetConversation, RestoreConversation, SharedEngine, SwitchEvent,
};
pub use switch::{CommitSwitch, SwitchModel};
