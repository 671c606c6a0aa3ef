//! The server actor: runs `serve`'s HTTP server beside the dashboard on the loaded model.
