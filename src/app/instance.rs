//! What belongs to the running program rather than to a library: whether this is the first
//! Shelfmark on this computer's data directory (a second one opens the main window only and
//! remembers nothing, so it cannot bring back windows the first one closed), and the system's
//! requests to stop (SIGTERM, SIGINT), which arrive as [`AppCommand::Terminate`].

use std::fs::File;
use std::path::Path;

use signal_hook::consts::{SIGINT, SIGTERM};
use signal_hook::iterator::Signals;

use crate::tasks::Worker;
use crate::ui::command::{AppCommand, Commands};

/// Held while this is the first Shelfmark on its data directory.
#[derive(Debug)]
pub struct InstanceLock {
    _file: File,
}

impl InstanceLock {
    /// The lock, if no other Shelfmark holds it (`None`: this is a second instance, or the
    /// folder cannot be written, which is treated the same way: remember nothing).
    pub fn acquire(data_dir: &Path) -> Option<InstanceLock> {
        std::fs::create_dir_all(data_dir).ok()?;
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(data_dir.join("instance.lock"))
            .ok()?;
        file.try_lock().ok()?;
        Some(InstanceLock { _file: file })
    }
}

/// Forwards SIGTERM and SIGINT to the app's command queue, as a quit with a deadline.
pub fn forward_signals(commands: Commands) -> std::io::Result<Worker> {
    let mut signals = Signals::new([SIGTERM, SIGINT])?;
    let handle = signals.handle();
    let worker = Worker::spawn("shelfmark-signals", move |_| {
        for _ in signals.forever() {
            commands.send(AppCommand::Terminate);
        }
    })?;
    // Closing the signal iterator when the worker is dropped ends its loop.
    Ok(worker.on_drop(move || handle.close()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_instance_does_not_get_the_lock() {
        let dir = tempfile::tempdir().unwrap();
        let first = InstanceLock::acquire(dir.path());
        assert!(first.is_some());
        assert!(InstanceLock::acquire(dir.path()).is_none());
        drop(first);
        assert!(InstanceLock::acquire(dir.path()).is_some());
    }

    #[test]
    fn sigterm_and_sigint_arrive_as_terminate() {
        let ctx = egui::Context::default();
        let (commands, inbox) = Commands::new(&ctx);
        let _worker = forward_signals(commands).unwrap();
        for signal in [SIGTERM, SIGINT] {
            signal_hook::low_level::raise(signal).unwrap();
            let got = inbox.recv_timeout(std::time::Duration::from_secs(5));
            assert_eq!(got, Ok(AppCommand::Terminate), "signal {signal}");
        }
    }
}
