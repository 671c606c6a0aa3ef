//! Continuous batching: `parallel` slots, each one request with its own KV cache, sampler chain and
//! stop strings, decoded together (one batched forward pass per step reads the weights once for
//! every busy slot). A request joins the batch between steps (its prompt is prefilled on its
//! own) and leaves it when it finishes, is cancelled or its receiver is dropped.
//!
//! The interface below is what the HTTP layer and the bench use; see `SlotPool`.
use std::collections::VecDeque;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::Instant;

use tokio::sync::mpsc;

use super::slot::{Queued, Shared, Slot};
use crate::engine::{Engine, EngineError, Session};

pub use super::job::{
    Job, JobHandle, JobOptions, JobStats, PoolError, PoolStatus, SlotEvent, SlotOptions,
    TokenLogprob, TokenOut,
};

/// The slots and the thread that runs them.
pub struct SlotPool {
    engine: Arc<Engine>,
    control: Arc<Control>,
    shared: Arc<Shared>,
    parallel: usize,
    /// Positions each slot holds.
    capacity: usize,
    max_queue: usize,
    options: SlotOptions,
    thread: Option<JoinHandle<()>>,
}

/// What the submitting side and the decode thread share under one lock.
#[derive(Default)]
struct Queue {
    waiting: VecDeque<Queued>,
    busy: usize,
    /// No new jobs (draining or dropped).
    closing: bool,
    /// The thread should end: fail what is left and exit.
    shutdown: bool,
    /// The decode thread has ended.
    stopped: bool,
}

#[derive(Default)]
struct Control {
    queue: Mutex<Queue>,
    /// Signalled when a job arrives or the pool shuts down.
    work: Condvar,
    /// Signalled when the pool has nothing running or waiting.
    idle: Condvar,
    requests_total: AtomicU64,
}

impl Control {
    /// The queue, even if a panic poisoned its lock (its fields stay consistent: every update is
    /// a single assignment).
    fn lock(&self) -> MutexGuard<'_, Queue> {
        self.queue.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl SlotPool {
    /// Starts the decode thread: `parallel` slots of `ctx` positions each on `engine`; at most
    /// `max_queue` jobs wait for a slot.
    pub fn start(
        engine: Arc<Engine>,
        parallel: usize,
        ctx: usize,
        max_queue: usize,
    ) -> Result<Self, EngineError> {
        Self::start_with(engine, parallel, ctx, max_queue, SlotOptions::default())
    }

    /// `start` with context shift and drafting as `options` say.
    pub fn start_with(
        engine: Arc<Engine>,
        parallel: usize,
        ctx: usize,
        max_queue: usize,
        options: SlotOptions,
    ) -> Result<Self, EngineError> {
        if parallel == 0 {
            return Err(EngineError::EngineUnavailable(
                "the server needs at least one slot (--parallel 1 or more)".into(),
            ));
        }
        let sessions = (0..parallel)
            .map(|_| engine.new_session(ctx))
            .collect::<Result<Vec<Session>, _>>()?;
        let capacity = sessions[0].pass.capacity();
        let slots: Vec<Slot> = sessions
            .into_iter()
            .enumerate()
            .map(|(i, s)| Slot::new(i, s, options))
            .collect();
        let control = Arc::new(Control::default());
        let shared = Arc::new(Shared::new(engine.clone()));
        let thread = {
            let (control, shared) = (control.clone(), shared.clone());
            std::thread::Builder::new()
                .name("gemma-slots".into())
                .spawn(move || decode_thread(slots, &control, &shared))
                .map_err(|e| EngineError::Kernel(format!("cannot start the decode thread: {e}")))?
        };
        Ok(Self {
            engine,
            control,
            shared,
            parallel,
            capacity,
            max_queue,
            options,
            thread: Some(thread),
        })
    }

    /// Positions each slot holds (a prompt must leave room for one generated token).
    pub fn slot_capacity(&self) -> usize {
        self.capacity
    }

    /// The engine the slots run on.
    pub fn engine(&self) -> &Arc<Engine> {
        &self.engine
    }

    /// How the slots shift and draft.
    pub fn options(&self) -> SlotOptions {
        self.options
    }

    /// Queues a job (tokenized here, so a prompt that cannot fit is refused at once).
    pub fn submit(&self, job: Job) -> Result<JobHandle, PoolError> {
        self.submit_with(job, JobOptions::default())
    }

    /// `submit` with the request's own context-shift settings.
    pub fn submit_with(&self, job: Job, options: JobOptions) -> Result<JobHandle, PoolError> {
        if self.control.lock().closing {
            return Err(PoolError::Closed);
        }
        job.params.validate().map_err(PoolError::BadParams)?;
        if job.prompt.is_empty() {
            return Err(PoolError::EmptyPrompt);
        }
        let ids = self.engine.tokenizer.encode(&job.prompt, true, true);
        if ids.len() >= self.capacity {
            return Err(PoolError::PromptTooLong {
                tokens: ids.len(),
                capacity: self.capacity,
            });
        }
        let (events, rx) = mpsc::unbounded_channel();
        let mut q = self.control.lock();
        if q.closing {
            return Err(PoolError::Closed);
        }
        // Jobs not yet in a slot: those a free slot will take at once do not count as waiting.
        let free = self.parallel.saturating_sub(q.busy);
        if q.waiting.len() >= self.max_queue + free {
            return Err(PoolError::QueueFull(q.waiting.len()));
        }
        q.waiting.push_back(Queued {
            job,
            options,
            ids,
            events,
            submitted: Instant::now(),
        });
        self.control.requests_total.fetch_add(1, Ordering::Relaxed);
        self.control.work.notify_one();
        Ok(JobHandle { events: rx })
    }

    pub fn status(&self) -> PoolStatus {
        let q = self.control.lock();
        PoolStatus {
            parallel: self.parallel,
            busy: q.busy,
            queued: q.waiting.len(),
            requests_total: self.control.requests_total.load(Ordering::Relaxed),
            prompt_tokens_total: self.shared.prompt_tokens_total.load(Ordering::Relaxed),
            generated_tokens_total: self.shared.generated_tokens_total.load(Ordering::Relaxed),
        }
    }

    /// Refuses new jobs and waits until the running and queued ones are done.
    pub fn drain(&self) {
        let mut q = self.control.lock();
        q.closing = true;
        while !q.stopped && (q.busy > 0 || !q.waiting.is_empty()) {
            q = self.control.idle.wait(q).unwrap_or_else(|e| e.into_inner());
        }
    }
}

impl Drop for SlotPool {
    /// Fails whatever is still queued or running and ends the decode thread.
    fn drop(&mut self) {
        {
            let mut q = self.control.lock();
            q.closing = true;
            q.shutdown = true;
        }
        self.control.work.notify_all();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// The decode thread: admit waiting jobs into free slots, step every busy slot together, repeat.
/// A panic fails the jobs in the slots (their clients get `Failed`, not silence) and the thread
/// goes on serving.
fn decode_thread(mut slots: Vec<Slot>, control: &Control, shared: &Shared) {
    loop {
        match catch_unwind(AssertUnwindSafe(|| iteration(&mut slots, control, shared))) {
            Ok(true) => continue,
            Ok(false) => break,
            Err(panic) => {
                let what = panic
                    .downcast_ref::<String>()
                    .map(String::as_str)
                    .or_else(|| panic.downcast_ref::<&str>().copied())
                    .unwrap_or("unknown");
                tracing::error!("the decode thread panicked: {what}");
                for slot in slots.iter_mut().filter(|s| s.is_busy()) {
                    slot.fail(&format!("the server's decode step failed: {what}"));
                }
                update_busy(&slots, control);
            }
        }
    }
    let mut q = control.lock();
    q.stopped = true;
    control.idle.notify_all();
}

/// One round; false when the pool shuts down.
fn iteration(slots: &mut [Slot], control: &Control, shared: &Shared) -> bool {
    {
        let mut q = control.lock();
        if q.shutdown {
            for job in q.waiting.drain(..) {
                let _ = job
                    .events
                    .send(SlotEvent::Failed(PoolError::Closed.to_string()));
            }
            drop(q);
            for slot in slots.iter_mut().filter(|s| s.is_busy()) {
                slot.fail(&PoolError::Closed.to_string());
            }
            update_busy(slots, control);
            return false;
        }
    }
    // Admit: each new prompt is prefilled on its own (the batched kernels already use every
    // core for a prompt), then its first token joins the next step.
    while let Some(free) = slots.iter().position(|s| !s.is_busy()) {
        let job = {
            let mut q = control.lock();
            let job = q.waiting.pop_front();
            if job.is_some() {
                q.busy += 1;
            }
            job
        };
        let Some(job) = job else { break };
        slots[free].start(job, shared);
        update_busy(slots, control);
    }
    for slot in slots.iter_mut().filter(|s| s.abandoned()) {
        slot.release();
    }
    // A slot with guesses verifies them in a pass of its own (every position's logits); the
    // others step together.
    let mut drafting = Vec::new();
    for (i, slot) in slots.iter_mut().enumerate() {
        let guesses = slot.draft_guesses();
        if !guesses.is_empty() {
            drafting.push((i, guesses));
        }
    }
    for (i, guesses) in &drafting {
        slots[*i].step_drafted(guesses, shared);
    }
    let (mut sessions, mut tokens, mut stepping) = (Vec::new(), Vec::new(), Vec::new());
    for (i, slot) in slots.iter_mut().enumerate() {
        // A slot that has just verified goes on at the next step.
        if drafting.iter().any(|(d, _)| *d == i) {
            continue;
        }
        if let Some(t) = slot.next_token() {
            tokens.push(t);
            stepping.push(i);
            sessions.push(&mut slot.session);
        }
    }
    if tokens.is_empty() && !drafting.is_empty() {
        update_busy(slots, control);
        return true;
    }
    if tokens.is_empty() {
        update_busy(slots, control);
        let mut q = control.lock();
        while q.waiting.is_empty() && !q.shutdown {
            q = control.work.wait(q).unwrap_or_else(|e| e.into_inner());
        }
        return true;
    }
    match shared.engine.forward_batch(&mut sessions, &tokens) {
        Ok(logits) => {
            for (i, logits) in stepping.into_iter().zip(logits) {
                slots[i].on_logits(logits, shared);
            }
        }
        Err(e) => {
            for i in stepping {
                slots[i].fail(&format!("decode step failed: {e}"));
            }
        }
    }
    update_busy(slots, control);
    true
}

/// Publishes how many slots are busy; wakes `drain` when nothing is left.
fn update_busy(slots: &[Slot], control: &Control) {
    let busy = slots.iter().filter(|s| s.is_busy()).count();
    let mut q = control.lock();
    q.busy = busy;
    if busy == 0 && q.waiting.is_empty() {
        control.idle.notify_all();
    }
}
