//! The machine a run was measured on, so that runs from different machines are never mistaken
//! for a regression (and a report says where its figures come from).
use serde::{Deserialize, Serialize};
use sysinfo::{CpuRefreshKind, MemoryRefreshKind, RefreshKind, System};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Machine {
    pub cpu: String,
    /// Logical cores the OS reports.
    pub cores: usize,
    /// Physical cores, where known.
    pub physical_cores: Option<usize>,
    pub memory_bytes: u64,
    pub os: String,
}

impl Machine {
    pub fn detect() -> Self {
        let refresh = RefreshKind::nothing()
            .with_cpu(CpuRefreshKind::nothing())
            .with_memory(MemoryRefreshKind::nothing().with_ram());
        let Ok(sys) = System::new_with_specifics(refresh) else {
            return Self::default();
        };
        Self {
            cpu: sys
                .cpus()
                .first()
                .map(|c| c.brand().trim().to_string())
                .unwrap_or_default(),
            cores: sys.cpus().len(),
            physical_cores: System::physical_core_count().ok(),
            memory_bytes: sys.total_memory(),
            os: System::long_os_version().unwrap_or_default(),
        }
    }

    /// "AMD EPYC 7B13, 2 cores, 24.0 GiB".
    pub fn describe(&self) -> String {
        format!(
            "{}, {} cores, {:.1} GiB",
            if self.cpu.is_empty() {
                "unknown CPU"
            } else {
                &self.cpu
            },
            self.cores,
            self.memory_bytes as f64 / (1u64 << 30) as f64
        )
    }
}
