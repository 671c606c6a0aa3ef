//! The routes (with and without `/v1`, as llama-server takes them), the key check, the body
//! limit, the panic guard, and the server's life: bind, answer, drain on shutdown.
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::{header, StatusCode, Uri};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use futures::FutureExt;
use serde_json::json;

use super::api::{parse_chat, parse_completion, ParsedRequest};
use super::auth::authorized;
use super::error::ApiError;
use super::fields::Fields;
use super::reply::{ReplyMeta, Route};
use super::response_format;
use super::slots::{JobStats, PoolError, SlotEvent, TokenOut};
use super::sse::{self, StreamRequest};
use super::state::{RequestRecord, ServerState};

pub fn router(state: Arc<ServerState>) -> Router {
    let mut app = Router::new();
    for prefix in ["", "/v1"] {
        app = app
            .route(&format!("{prefix}/chat/completions"), post(chat))
            .route(&format!("{prefix}/completions"), post(completion))
            .route(&format!("{prefix}/models"), get(models))
            .route(&format!("{prefix}/health"), get(health))
            .route(&format!("{prefix}/metrics"), get(metrics))
            .route(&format!("{prefix}/props"), get(props));
    }
    let limit = state.config.max_body;
    app.fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(middleware::from_fn_with_state(state.clone(), check_key))
        .layer(middleware::from_fn(catch_panic))
        .layer(DefaultBodyLimit::max(limit))
        .with_state(state)
}

/// Serves on `listener` until `shutdown` resolves; then stops accepting, lets the requests in
/// flight finish (streams included) and drains the slots.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: Arc<ServerState>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let ticker = tokio::spawn(tick(state.clone()));
    let result = axum::serve(listener, router(state.clone()))
        .with_graceful_shutdown(shutdown)
        .await;
    ticker.abort();
    let drained = state.clone();
    let _ = tokio::task::spawn_blocking(move || {
        if let Some(ready) = drained.ready() {
            ready.pool.drain();
        }
    })
    .await;
    result
}

/// Samples the generated-token total once a second for the tokens/s rate.
async fn tick(state: Arc<ServerState>) {
    let mut every = tokio::time::interval(Duration::from_secs(1));
    loop {
        every.tick().await;
        if let Some(status) = state.status() {
            state
                .counters
                .sample(Instant::now(), status.generated_tokens_total);
        }
    }
}

/// `/health` stays open (balancers probe it without a key); everything else needs the key.
async fn check_key(State(state): State<Arc<ServerState>>, req: Request, next: Next) -> Response {
    let open = matches!(req.uri().path(), "/health" | "/v1/health");
    match &state.config.api_key {
        Some(key) if !open && !authorized(req.headers(), key) => {
            ApiError::unauthorized().into_response()
        }
        _ => next.run(req).await,
    }
}

/// A bug in a handler answers 500 instead of taking the connection (or the server) down.
async fn catch_panic(req: Request, next: Next) -> Response {
    let path = req.uri().path().to_string();
    match std::panic::AssertUnwindSafe(next.run(req))
        .catch_unwind()
        .await
    {
        Ok(response) => response,
        Err(panic) => {
            let what = panic
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "a panic".into());
            tracing::error!(path, panic = what, "handler panicked");
            ApiError::internal(format!("internal error: {what}")).into_response()
        }
    }
}

async fn not_found(uri: Uri) -> ApiError {
    ApiError::not_found(uri.path())
}

async fn method_not_allowed(uri: Uri) -> ApiError {
    ApiError {
        status: StatusCode::METHOD_NOT_ALLOWED,
        ..ApiError::bad_request(format!("method not allowed on {}", uri.path()))
    }
}

/// llama-server's answers: 200 `{"status":"ok"}` when ready, 503 while loading.
async fn health(State(state): State<Arc<ServerState>>) -> Response {
    if state.ready().is_some() {
        return Json(json!({"status": "ok"})).into_response();
    }
    match state.load_error() {
        Some(e) => ApiError::unavailable(format!("the model failed to load: {e}")).into_response(),
        None => ApiError::loading().into_response(),
    }
}

async fn models(State(state): State<Arc<ServerState>>) -> Json<serde_json::Value> {
    Json(json!({
        "object": "list",
        "data": [{
            "id": state.config.model_name,
            "object": "model",
            "created": state.started_unix,
            "owned_by": "gemma-tui",
        }],
    }))
}

/// llama-server's `/props`: the slots, the model and the effective settings.
async fn props(State(state): State<Arc<ServerState>>) -> Response {
    match super::props::props(&state) {
        Some(body) => Json(body).into_response(),
        None => match state.load_error() {
            Some(e) => ApiError::unavailable(format!("the model failed to load: {e}")),
            None => ApiError::loading(),
        }
        .into_response(),
    }
}

async fn metrics(State(state): State<Arc<ServerState>>) -> Response {
    let text = super::metrics::render(state.status().as_ref(), &state.counters);
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], text).into_response()
}

async fn chat(
    State(state): State<Arc<ServerState>>,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    completion_route(state, body, Route::Chat).await
}

async fn completion(
    State(state): State<Arc<ServerState>>,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    completion_route(state, body, Route::Completion).await
}

async fn completion_route(
    state: Arc<ServerState>,
    body: Result<Bytes, BytesRejection>,
    route: Route,
) -> Response {
    let started = Instant::now();
    match start(&state, body, route) {
        Ok((parsed, handle)) => {
            let meta = ReplyMeta::new(route, &state.config.model_name);
            if parsed.stream {
                let req = StreamRequest {
                    meta,
                    include_usage: parsed.include_usage,
                    logprobs: parsed.logprobs,
                    started,
                };
                sse::stream(state, handle, req)
            } else {
                whole_reply(&state, handle, meta, parsed.logprobs, started).await
            }
        }
        Err(e) => {
            state.record(RequestRecord {
                route: route.name(),
                status: e.status.as_u16(),
                stream: false,
                prompt_tokens: 0,
                generated_tokens: 0,
                ms: started.elapsed().as_secs_f64() * 1000.0,
                error: Some(e.message.clone()),
            });
            e.into_response()
        }
    }
}

/// Parses the request and queues its job.
fn start(
    state: &ServerState,
    body: Result<Bytes, BytesRejection>,
    route: Route,
) -> Result<(ParsedRequest, super::slots::JobHandle), ApiError> {
    let body = body.map_err(|e| match e {
        BytesRejection::FailedToBufferBody(_) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => {
            ApiError::too_large(state.config.max_body)
        }
        other => ApiError::bad_request(format!("cannot read the body: {other}")),
    })?;
    let value = Fields::parse(&body)?;
    let Some(ready) = state.ready() else {
        return Err(match state.load_error() {
            Some(e) => ApiError::unavailable(format!("the model failed to load: {e}")),
            None => ApiError::loading(),
        });
    };
    let mut parsed = match route {
        Route::Chat => parse_chat(&value, &state.config.defaults, &ready.style)?,
        Route::Completion => parse_completion(&value, &state.config.defaults)?,
    };
    parsed.job.constraint = response_format::from_request(&value, &body)?;
    if parsed.job.constraint.is_some() && parsed.job.ignore_eos {
        return Err(ApiError::bad_field(
            "ignore_eos",
            "`ignore_eos` cannot be combined with a JSON response format (the reply ends where the JSON does)",
        ));
    }
    let handle = ready
        .pool
        .submit_with(parsed.job.clone(), parsed.options)
        .map_err(pool_error)?;
    Ok((parsed, handle))
}

fn pool_error(e: PoolError) -> ApiError {
    let message = e.to_string();
    match e {
        PoolError::PromptTooLong { .. } => ApiError {
            code: Some("context_length_exceeded"),
            ..ApiError::bad_field("messages", message)
        },
        PoolError::EmptyPrompt => ApiError::bad_request(message),
        PoolError::BadParams(_) => ApiError::bad_request(message),
        PoolError::QueueFull(_) => ApiError::too_many(message),
        PoolError::Closed => ApiError::unavailable(message),
    }
}

/// A reply not streamed: the slot's events gathered into one response. If the client leaves,
/// this future is dropped with the handle, which cancels the job.
async fn whole_reply(
    state: &ServerState,
    mut handle: super::slots::JobHandle,
    meta: ReplyMeta,
    logprobs: bool,
    started: Instant,
) -> Response {
    let mut text = String::new();
    let mut pieces: Vec<TokenOut> = Vec::new();
    let outcome: Result<JobStats, String> = loop {
        match handle.events.recv().await {
            Some(SlotEvent::Prefilled { .. }) => {}
            Some(SlotEvent::Token(piece)) => {
                text.push_str(&piece.text);
                if logprobs {
                    pieces.push(piece);
                }
            }
            Some(SlotEvent::Done(stats)) => break Ok(stats),
            Some(SlotEvent::Failed(e)) => break Err(e),
            None => break Err("the slots stopped before the reply ended".into()),
        }
    };
    let ms = started.elapsed().as_secs_f64() * 1000.0;
    let mut record = RequestRecord {
        route: meta.route.name(),
        status: 200,
        stream: false,
        prompt_tokens: 0,
        generated_tokens: 0,
        ms,
        error: None,
    };
    let response = match outcome {
        Ok(stats) => {
            record.prompt_tokens = stats.prompt_n;
            record.generated_tokens = stats.predicted_n;
            Json(meta.response(&text, &pieces, logprobs, &stats)).into_response()
        }
        Err(e) => {
            record.status = 500;
            record.error = Some(e.clone());
            ApiError::internal(e).into_response()
        }
    };
    state.record(record);
    response
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;
    use crate::serve::setup::{server_config, ServeLimits};
    use axum::body::Body;
    use tower::ServiceExt;

    /// A server whose model has not loaded yet (no engine needed).
    fn loading_state(api_key: Option<&str>) -> Arc<ServerState> {
        let dir = tempfile::tempdir().unwrap();
        let limits = ServeLimits {
            api_key: api_key.map(str::to_string),
            parallel: 1,
            ctx: 256,
            max_body: 1024,
            max_tokens_cap: 8,
            max_queue: 1,
        };
        let config = server_config(&Config::defaults(), dir.path(), None, "m", limits).unwrap();
        ServerState::new(config, None)
    }

    async fn call(app: Router, req: axum::http::Request<Body>) -> (StatusCode, serde_json::Value) {
        let response = app.oneshot(req).await.unwrap();
        let status = response.status();
        let bytes = axum::body::to_bytes(response.into_body(), 1 << 20)
            .await
            .unwrap();
        (status, serde_json::from_slice(&bytes).unwrap())
    }

    fn post(path: &str, body: &str) -> axum::http::Request<Body> {
        axum::http::Request::post(path)
            .body(Body::from(body.to_string()))
            .unwrap()
    }

    #[tokio::test]
    async fn while_loading_health_and_completions_answer_503_like_llama_server() {
        let state = loading_state(None);
        let (status, body) = call(
            router(state.clone()),
            axum::http::Request::get("/health")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(body["error"]["message"], "Loading model");
        assert_eq!(body["error"]["type"], "unavailable_error");
        let chat = r#"{"messages": [{"role": "user", "content": "hi"}]}"#;
        let (status, _) = call(router(state.clone()), post("/v1/chat/completions", chat)).await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
        // Malformed input is still a 400, loaded or not.
        let (status, _) = call(router(state.clone()), post("/v1/chat/completions", "{")).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        let (status, body) = call(
            router(state.clone()),
            post("/v1/completions", &"x".repeat(2000)),
        )
        .await;
        assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{body}");
        state.set_load_error("no such file".into());
        let (status, body) = call(
            router(state),
            axum::http::Request::get("/v1/health")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
        assert!(body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("no such file"));
    }

    async fn boom() -> &'static str {
        panic!("a bug")
    }

    #[tokio::test]
    async fn a_panicking_handler_answers_500_and_the_server_goes_on() {
        let app = Router::new()
            .route("/boom", get(boom))
            .route("/fine", get(|| async { Json(json!({"ok": true})) }))
            .layer(middleware::from_fn(catch_panic));
        let (status, body) = call(
            app.clone(),
            axum::http::Request::get("/boom")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
        assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
        assert!(body["error"]["message"].as_str().unwrap().contains("a bug"));
        let (status, _) = call(
            app,
            axum::http::Request::get("/fine")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
        assert_eq!(status, StatusCode::OK);
    }

    #[tokio::test]
    async fn metrics_need_the_key_health_does_not() {
        let state = loading_state(Some("k"));
        let get = |path: &str| axum::http::Request::get(path).body(Body::empty()).unwrap();
        let response = router(state.clone())
            .oneshot(get("/metrics"))
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        let response = router(state.clone()).oneshot(get("/health")).await.unwrap();
        assert_eq!(
            response.status(),
            StatusCode::SERVICE_UNAVAILABLE,
            "not 401"
        );
        let mut req = get("/metrics");
        req.headers_mut()
            .insert("authorization", "Bearer k".parse().unwrap());
        let response = router(state).oneshot(req).await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        let text = axum::body::to_bytes(response.into_body(), 1 << 20)
            .await
            .unwrap();
        assert!(String::from_utf8_lossy(&text).contains("gemma_tui_model_loaded 0"));
    }
}
