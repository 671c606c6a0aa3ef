use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use actix::{Actor, Addr, AsyncContext, Context, Handler, Message};
use tokio::sync::oneshot;

use super::messages::{ServeEvent, ServeStatus, StartServer, StopServer};
use crate::serve::auth::check_bind;
use crate::serve::{RequestObserver, ServerState};

pub type ServeSink = Arc<dyn Fn(ServeEvent) + Send + Sync>;

/// What the dashboard holds: the serve actor's address.
#[derive(Clone)]
pub struct ServeHandle {
    pub addr: Addr<ServeActor>,
}

/// Starts the serve actor (on the executor: it only starts and stops the server, whose HTTP
/// work runs on a runtime of its own thread and whose decoding runs on the slot pool's thread).
pub fn start(sink: ServeSink) -> ServeHandle {
    ServeHandle {
        addr: ServeActor {
            sink,
            running: None,
        }
        .start(),
    }
}

const STATUS_EVERY: Duration = Duration::from_secs(1);

struct Running {
    addr: SocketAddr,
    state: Arc<ServerState>,
    stop: oneshot::Sender<()>,
}

pub struct ServeActor {
    sink: ServeSink,
    running: Option<Running>,
}

impl ServeActor {
    fn status(&self) -> Option<ServeStatus> {
        let r = self.running.as_ref()?;
        let c = &r.state.counters;
        Some(ServeStatus {
            addr: Some(r.addr),
            pool: r.state.status().unwrap_or_default(),
            tokens_per_second: c.tokens_per_second(),
            ok: c.ok.load(Ordering::Relaxed),
            errors: c.client_errors.load(Ordering::Relaxed)
                + c.server_errors.load(Ordering::Relaxed),
        })
    }

    fn start_server(
        &mut self,
        msg: StartServer,
        me: Addr<ServeActor>,
    ) -> Result<SocketAddr, String> {
        if let Some(r) = &self.running {
            return Err(format!(
                "the server is already running at http://{}",
                r.addr
            ));
        }
        let o = msg.options;
        check_bind(&o.host, o.config.api_key.as_deref(), o.insecure)?;
        let listener = std::net::TcpListener::bind((o.host.as_str(), o.port))
            .map_err(|e| format!("cannot listen on {}:{}: {e}", o.host, o.port))?;
        let addr = listener.local_addr().map_err(|e| e.to_string())?;
        listener.set_nonblocking(true).map_err(|e| e.to_string())?;
        let sink = self.sink.clone();
        let observer: RequestObserver = Arc::new(move |r| sink(ServeEvent::Request(r)));
        let state = ServerState::new(o.config, Some(observer));
        state.set_engine(msg.engine)?;
        let (stop, stopped) = oneshot::channel::<()>();
        let served = state.clone();
        std::thread::Builder::new()
            .name("serve-http".into())
            .spawn(move || {
                let result = tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(2)
                    .enable_all()
                    .build()
                    .map_err(|e| e.to_string())
                    .and_then(|rt| {
                        rt.block_on(async move {
                            let listener = tokio::net::TcpListener::from_std(listener)
                                .map_err(|e| e.to_string())?;
                            crate::serve::serve(listener, served, async {
                                let _ = stopped.await;
                            })
                            .await
                            .map_err(|e| e.to_string())
                        })
                    });
                me.do_send(ServerEnded { addr, result });
            })
            .map_err(|e| format!("cannot start the server's thread: {e}"))?;
        self.running = Some(Running { addr, state, stop });
        Ok(addr)
    }
}

impl Actor for ServeActor {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        ctx.run_interval(STATUS_EVERY, |actor, _| {
            if let Some(status) = actor.status() {
                (actor.sink)(ServeEvent::Status(status));
            }
        });
    }

    fn stopped(&mut self, _: &mut Self::Context) {
        if let Some(r) = self.running.take() {
            let _ = r.stop.send(());
        }
    }
}

impl Handler<StartServer> for ServeActor {
    type Result = ();

    fn handle(&mut self, msg: StartServer, ctx: &mut Context<Self>) {
        match self.start_server(msg, ctx.address()) {
            Ok(addr) => {
                tracing::info!(%addr, "serving");
                (self.sink)(ServeEvent::Started { addr });
            }
            Err(e) => (self.sink)(ServeEvent::Failed(e)),
        }
    }
}

impl Handler<StopServer> for ServeActor {
    type Result = ();

    /// The server's thread reports `Stopped` once the requests in flight are done; with no
    /// server running, `Stopped` comes at once.
    fn handle(&mut self, _: StopServer, _: &mut Context<Self>) {
        match self.running.take() {
            Some(r) => {
                let _ = r.stop.send(());
            }
            None => (self.sink)(ServeEvent::Stopped),
        }
    }
}

/// The server's thread is done (stopped and drained, or failed).
#[derive(Message)]
#[rtype(result = "()")]
struct ServerEnded {
    addr: SocketAddr,
    result: Result<(), String>,
}

impl Handler<ServerEnded> for ServeActor {
    type Result = ();

    fn handle(&mut self, msg: ServerEnded, _: &mut Context<Self>) {
        if self.running.as_ref().is_some_and(|r| r.addr == msg.addr) {
            self.running = None;
        }
        (self.sink)(match msg.result {
            Ok(()) => ServeEvent::Stopped,
            Err(e) => ServeEvent::Failed(format!("the server failed: {e}")),
        });
    }
}
