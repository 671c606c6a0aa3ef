//! A streamed reply: server-sent events exactly as OpenAI and llama-server send them
//! (`data: {json}` and a blank line; the role first, content deltas, the finish chunk with
//! `timings`, the usage chunk when asked for, `data: [DONE]`). A task moves the slot's events into
//! the body; when the client goes away the body is dropped, the task sees its channel closed and
//! drops the job's handle, which cancels the job and frees its slot.
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Instant;

use axum::body::{Body, Bytes};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use serde_json::Value;
use tokio::sync::mpsc;

use super::error::ApiError;
use super::reply::{ReplyMeta, Route};
use super::slots::{JobHandle, SlotEvent};
use super::state::{RequestRecord, ServerState};

/// One event's bytes.
pub fn event(json: &Value) -> Bytes {
    Bytes::from(format!("data: {json}\n\n"))
}

pub const DONE: &str = "data: [DONE]\n\n";

/// Chunks buffered between the slot and a slow client before the task waits.
const BUFFER: usize = 64;

pub struct StreamRequest {
    pub meta: ReplyMeta,
    pub include_usage: bool,
    pub logprobs: bool,
    pub started: Instant,
}

pub fn stream(state: Arc<ServerState>, handle: JobHandle, req: StreamRequest) -> Response {
    let (tx, rx) = mpsc::channel::<Result<Bytes, Infallible>>(BUFFER);
    tokio::spawn(pump(state, handle, req, tx));
    let body = Body::from_stream(tokio_stream::wrappers::ReceiverStream::new(rx));
    (
        [
            (header::CONTENT_TYPE, "text/event-stream"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        body,
    )
        .into_response()
}

async fn pump(
    state: Arc<ServerState>,
    mut handle: JobHandle,
    req: StreamRequest,
    tx: mpsc::Sender<Result<Bytes, Infallible>>,
) {
    let mut record = RequestRecord {
        route: req.meta.route.name(),
        status: 200,
        stream: true,
        prompt_tokens: 0,
        generated_tokens: 0,
        ms: 0.0,
        error: None,
    };
    let send = |bytes: Bytes| {
        let tx = tx.clone();
        async move { tx.send(Ok(bytes)).await.is_ok() }
    };
    let mut open = req.meta.route != Route::Chat || send(event(&req.meta.role_chunk())).await;
    while open {
        let next = tokio::select! {
            _ = tx.closed() => None,
            ev = handle.events.recv() => Some(ev),
        };
        match next {
            // The client left: dropping the handle (below) cancels the job.
            None => open = false,
            Some(Some(SlotEvent::Prefilled { prompt_tokens, .. })) => {
                record.prompt_tokens = prompt_tokens;
            }
            Some(Some(SlotEvent::Token(piece))) => {
                record.generated_tokens += 1;
                if !piece.text.is_empty() || piece.logprob.is_some() {
                    open = send(event(&req.meta.content_chunk(&piece, req.logprobs))).await;
                }
            }
            Some(Some(SlotEvent::Done(stats))) => {
                record.prompt_tokens = stats.prompt_n;
                record.generated_tokens = stats.predicted_n;
                let mut ok = send(event(&req.meta.finish_chunk(&stats))).await;
                if ok && req.include_usage {
                    ok = send(event(&req.meta.usage_chunk(&stats))).await;
                }
                if ok && send(Bytes::from_static(DONE.as_bytes())).await {
                    return finish(&state, record, &req);
                }
                open = false;
            }
            Some(failed) => {
                // Headers are out: the error goes as an event (the OpenAI client raises on it).
                let message = match failed {
                    Some(SlotEvent::Failed(m)) => m,
                    _ => "the slots stopped before the reply ended".into(),
                };
                let error = ApiError::internal(message.clone());
                let _ = send(event(&error.body())).await;
                let _ = send(Bytes::from_static(DONE.as_bytes())).await;
                record.status = 500;
                record.error = Some(message);
                return finish(&state, record, &req);
            }
        }
    }
    drop(handle);
    state
        .counters
        .disconnected
        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    // 499: nginx's "client closed request".
    record.status = 499;
    record.error = Some("the client disconnected".into());
    finish(&state, record, &req);
}

fn finish(state: &ServerState, mut record: RequestRecord, req: &StreamRequest) {
    record.ms = req.started.elapsed().as_secs_f64() * 1000.0;
    state.record(record);
}
