//! The config actor: watches the config dir (notify, debounced) and, when a file changes, reloads
//! and validates the whole configuration. A good edit reaches the dashboard as the profile's new
//! settings; a bad one is reported and the last good configuration stays in force.
mod actor;
mod messages;

pub use actor::{start, ConfigActor, ConfigHandle, ConfigSink};
pub use messages::{ConfigEvent, SaveProfile};
