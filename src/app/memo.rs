//! What is remembered between runs (in eframe's storage): the library, the selected
//! collection, and the open editor windows with their sizes.

use std::path::PathBuf;

/// Key of what Shelfmark remembers in eframe's storage.
pub(super) const MEMO_KEY: &str = "shelfmark";

/// What is remembered between runs.
#[derive(Clone, Debug, Default, serde::Serialize, serde::Deserialize)]
pub(super) struct Memo {
    /// Where the library used last lives: a file's path, or a server's address (never with a
    /// password).
    pub last_library: Option<String>,
    pub windows: Vec<WindowMemo>,
    pub selected: Option<i64>,
    /// Where the last file was chosen (import, export, backup).
    #[serde(default)]
    pub last_folder: Option<PathBuf>,
    /// This computer's name as the librarian set it (saves record it); `None`: the host name.
    #[serde(default)]
    pub workstation: Option<String>,
}

/// An editor window that was open.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub(super) struct WindowMemo {
    pub collection: i64,
    pub size: Option<[f32; 2]>,
}
