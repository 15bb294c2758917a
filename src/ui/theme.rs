//! Colours and spacing, in one place. Every message, badge and panel takes its colours from
//! here, so the app looks the same in every window.

use egui::{Color32, Visuals};

/// The kind of a message, which decides its colours.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tone {
    /// Something stopped a save: a conflict, a rule, a failure.
    Error,
    /// Needs attention but nothing is lost: stale data, waiting for the file.
    Warning,
    /// Work in progress.
    Pending,
    /// Done.
    Success,
    /// Neutral information.
    Info,
}

/// Foreground and background of a tone, for the current light or dark visuals.
pub fn colors(tone: Tone, visuals: &Visuals) -> (Color32, Color32) {
    let dark = visuals.dark_mode;
    match (tone, dark) {
        (Tone::Error, false) => (
            Color32::from_rgb(0xa3, 0x1b, 0x1b),
            Color32::from_rgb(0xfd, 0xec, 0xec),
        ),
        (Tone::Error, true) => (
            Color32::from_rgb(0xff, 0x9c, 0x9c),
            Color32::from_rgb(0x4a, 0x1e, 0x1e),
        ),
        (Tone::Warning, false) => (
            Color32::from_rgb(0x7a, 0x4d, 0x00),
            Color32::from_rgb(0xff, 0xf4, 0xd6),
        ),
        (Tone::Warning, true) => (
            Color32::from_rgb(0xff, 0xd2, 0x7a),
            Color32::from_rgb(0x45, 0x36, 0x12),
        ),
        (Tone::Pending, false) => (
            Color32::from_rgb(0x1f, 0x4e, 0x8c),
            Color32::from_rgb(0xe8, 0xf0, 0xfb),
        ),
        (Tone::Pending, true) => (
            Color32::from_rgb(0x9c, 0xc4, 0xff),
            Color32::from_rgb(0x1b, 0x2c, 0x45),
        ),
        (Tone::Success, false) => (
            Color32::from_rgb(0x1d, 0x6b, 0x32),
            Color32::from_rgb(0xe6, 0xf4, 0xea),
        ),
        (Tone::Success, true) => (
            Color32::from_rgb(0x8f, 0xe0, 0xa6),
            Color32::from_rgb(0x17, 0x3b, 0x22),
        ),
        (Tone::Info, _) => (visuals.text_color(), visuals.faint_bg_color),
    }
}

/// The accent used for the selected collection and primary buttons.
pub fn accent(visuals: &Visuals) -> Color32 {
    if visuals.dark_mode {
        Color32::from_rgb(0x7f, 0xb2, 0xf0)
    } else {
        Color32::from_rgb(0x23, 0x5a, 0x9e)
    }
}

/// Height of a table row, in points.
pub const ROW_HEIGHT: f32 = 22.0;

/// Sets the app-wide style: a calm light theme with roomy spacing.
pub fn apply(ctx: &egui::Context) {
    ctx.set_theme(egui::Theme::Light);
    ctx.all_styles_mut(|style| {
        style.spacing.item_spacing = egui::vec2(8.0, 6.0);
        style.spacing.button_padding = egui::vec2(8.0, 3.0);
        style.spacing.interact_size.y = 22.0;
        style.visuals.striped = true;
    });
}
