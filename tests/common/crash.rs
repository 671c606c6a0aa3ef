//! The kill-and-check loop of the crash tests, shared so that each test states only what it
//! writes and what must hold after a kill.
//!
//! The child is the test binary itself, started on one test (`child_test`) with an environment
//! variable naming the directory to write in; that test returns at once when the variable is
//! unset, so a normal run of the binary does nothing in it.
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use rand::Rng;

pub struct KillLoop<'a> {
    /// The test in this binary that writes in a loop while `env` is set.
    child_test: &'a str,
    /// The variable and the directory the child writes in.
    env: (&'a str, &'a Path),
}

impl<'a> KillLoop<'a> {
    pub fn new(child_test: &'a str, env: &'a str, dir: &'a Path) -> Self {
        KillLoop {
            child_test,
            env: (env, dir),
        }
    }

    /// Kills the child after a random `run_for_us` microseconds, until `advances` kills found
    /// progress; more than `max_kills` kills fail the test (a kill before the child's first write
    /// proves nothing and is retried, but on a busy machine not forever).
    ///
    /// After each kill `check(kill, last)` inspects what survived, asserting what must hold, and
    /// returns the progress it found (versions saved, messages committed); progress never goes
    /// back. Returns the last one.
    pub fn run(
        &self,
        run_for_us: std::ops::Range<u64>,
        advances: usize,
        max_kills: usize,
        mut check: impl FnMut(usize, u64) -> u64,
    ) -> u64 {
        let exe = std::env::current_exe().unwrap();
        let mut rng = rand::thread_rng();
        let (mut last, mut advanced) = (0u64, 0usize);
        let mut kill = 0;
        while advanced < advances {
            kill += 1;
            assert!(
                kill <= max_kills,
                "only {advanced} of {kill} kills came after a write"
            );
            let mut child = Command::new(&exe)
                .args([
                    "--exact",
                    self.child_test,
                    "--nocapture",
                    "--test-threads=1",
                ])
                .env(self.env.0, self.env.1)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap();
            std::thread::sleep(Duration::from_micros(rng.gen_range(run_for_us.clone())));
            child.kill().unwrap(); // SIGKILL on Unix
            child.wait().unwrap();
            let n = check(kill, last);
            assert!(
                n >= last,
                "kill {kill}: progress {n} after {last}: a write was lost"
            );
            advanced += usize::from(n > last);
            last = n;
        }
        last
    }
}

/// In the child test: the directory to write in, or `None` in a normal run.
pub fn child_dir(env: &str) -> Option<std::path::PathBuf> {
    std::env::var_os(env).map(std::path::PathBuf::from)
}
