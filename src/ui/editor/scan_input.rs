//! The scan field reads the keyboard itself. A USB scanner types a barcode and Enter at 1–5 ms
//! a key, so one frame may hold the end of one scan, several whole scans and the start of the
//! next; egui's single-line text field gives up its focus on Enter and stops reading that
//! frame's events, which dropped the characters that followed. So the editor takes the scan
//! field's events out of the frame before any widget sees them, and [`split`] turns them into
//! finished barcodes: every character kept, Enter the separator, whatever the frame boundaries.
//!
//! Which events are the scan field's ([`take`]): all of them while it has the focus; typed text
//! while nothing, or a button, has the focus (the scan field then takes the focus, and an Enter
//! that follows the text in the same frame is the scan's, never the button's); nothing while
//! another text field has the focus (the editor says scanning is paused).

use egui::{Event, Key};

/// Who has the keyboard, as far as scanning is concerned.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Focus {
    /// The scan field itself.
    Scan,
    /// Nothing, or a widget that is not a text field (a button, a header).
    Free,
    /// Another text field (the filter, a row edit, a form): its keys stay there.
    Typing,
}

/// Applies `events` to the text being scanned (`pending`) and returns the barcodes finished by
/// an Enter, in order (blank ones dropped). Backspace removes the last character, Escape clears
/// the field, pasted text is read line by line; other events change nothing.
pub fn split(pending: &mut String, events: &[Event]) -> Vec<String> {
    let mut done = Vec::new();
    let mut finish = |pending: &mut String| {
        let code = std::mem::take(pending);
        let code = code.trim();
        if !code.is_empty() {
            done.push(code.to_owned());
        }
    };
    for event in events {
        match event {
            Event::Text(t) => pending.push_str(t),
            Event::Paste(t) => {
                let mut lines = t.split(['\n', '\r']).peekable();
                while let Some(line) = lines.next() {
                    pending.push_str(line);
                    if lines.peek().is_some() {
                        finish(pending);
                    }
                }
            }
            Event::Key {
                key: Key::Enter,
                pressed: true,
                ..
            } => finish(pending),
            Event::Key {
                key: Key::Backspace,
                pressed: true,
                modifiers,
                ..
            } if modifiers.is_none() => {
                pending.pop();
            }
            Event::Key {
                key: Key::Escape,
                pressed: true,
                ..
            } => pending.clear(),
            _ => {}
        }
    }
    done
}

/// Whether the scan field reads this event when it has the focus.
fn is_scan_event(event: &Event) -> bool {
    match event {
        Event::Text(_) | Event::Paste(_) => true,
        Event::Key { key, modifiers, .. } => match key {
            Key::Enter | Key::Escape => true,
            Key::Backspace => modifiers.is_none(),
            _ => false,
        },
        _ => false,
    }
}

/// Takes the scan field's events out of `events` (see the module docs) and returns the
/// barcodes they finished, and whether the scan field should take the focus.
pub fn take(events: &mut Vec<Event>, pending: &mut String, focus: Focus) -> (Vec<String>, bool) {
    let mut taken = Vec::new();
    let mut grab = false;
    match focus {
        Focus::Typing => {}
        Focus::Scan => events.retain(|e| {
            let mine = is_scan_event(e);
            if mine {
                taken.push(e.clone());
            }
            !mine
        }),
        Focus::Free => {
            // Text is the scan's; so is an Enter (and its release) once text is being typed.
            let mut typing = !pending.is_empty();
            events.retain(|e| {
                let mine = match e {
                    Event::Text(_) | Event::Paste(_) => {
                        typing = true;
                        true
                    }
                    Event::Key {
                        key: Key::Enter, ..
                    } => typing,
                    _ => false,
                };
                if mine {
                    taken.push(e.clone());
                }
                !mine
            });
            grab = typing;
        }
    }
    (split(pending, &taken), grab)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(key: Key) -> Event {
        Event::Key {
            key,
            physical_key: None,
            pressed: true,
            repeat: false,
            modifiers: egui::Modifiers::NONE,
        }
    }

    fn text(t: &str) -> Event {
        Event::Text(t.to_owned())
    }

    #[test]
    fn check() {
        let cases: &[(&[Event], &[&str], &str)] = &[
            (&[text("0042"), key(Key::Enter)], &["0042"], ""),
            (&[text("00"), text("42")], &[], "0042"),
            (&[text("1"), key(Key::Enter), text("2")], &["1"], "2"),
            (&[key(Key::Enter), key(Key::Enter)], &[], ""),
            (&[text(" 7 "), key(Key::Enter)], &["7"], ""),
            (
                &[text("123"), key(Key::Backspace), key(Key::Enter)],
                &["12"],
                "",
            ),
            (&[text("123"), key(Key::Escape), text("9")], &[], "9"),
            (&[Event::Paste("A1\nB2\r\nC3".into())], &["A1", "B2"], "C3"),
        ];
        for (events, done, left) in cases {
            let mut pending = String::new();
            assert_eq!(split(&mut pending, events), *done, "{events:?}");
            assert_eq!(pending, *left, "{events:?}");
        }
    }

    #[test]
    fn a_focused_button_never_gets_a_scans_enter() {
        let mut events = vec![text("0018"), key(Key::Enter), key(Key::Space)];
        let mut pending = String::new();
        let (done, grab) = take(&mut events, &mut pending, Focus::Free);
        assert_eq!(done, ["0018"]);
        assert!(grab);
        // Only the space is left for the focused widget; with no text before it, an Enter is.
        assert_eq!(events, [key(Key::Space)]);
        let mut events = vec![key(Key::Enter)];
        let (done, grab) = take(&mut events, &mut pending, Focus::Free);
        assert!(done.is_empty() && !grab && events.len() == 1);
        // Another text field keeps everything typed into it.
        let mut events = vec![text("x"), key(Key::Enter)];
        let (done, _) = take(&mut events, &mut pending, Focus::Typing);
        assert!(done.is_empty() && events.len() == 2);
    }

    proptest::proptest! {
        /// However a burst of scans is cut into frames, the same barcodes come out, in order,
        /// each intact.
        #[test]
        fn any_frame_boundaries_give_the_same_scans(
            codes in proptest::collection::vec("[A-Z0-9./-]{1,14}", 0..30),
            cuts in proptest::collection::vec(0usize..400, 0..40),
        ) {
            let mut events = Vec::new();
            for code in &codes {
                events.extend(code.chars().map(|c| Event::Text(c.to_string())));
                events.push(key(Key::Enter));
                events.push(Event::Key {
                    key: Key::Enter,
                    physical_key: None,
                    pressed: false,
                    repeat: false,
                    modifiers: egui::Modifiers::NONE,
                });
            }
            let mut cuts: Vec<usize> = cuts.into_iter().map(|c| c.min(events.len())).collect();
            cuts.push(events.len());
            cuts.sort_unstable();
            let (mut pending, mut got, mut from) = (String::new(), Vec::new(), 0);
            for cut in cuts {
                // Each frame, the field has the focus the frame before left it with.
                let mut frame: Vec<Event> = events[from..cut].to_vec();
                let focus = if from == 0 { Focus::Free } else { Focus::Scan };
                got.extend(take(&mut frame, &mut pending, focus).0);
                proptest::prop_assert!(frame.iter().all(|e| !matches!(e, Event::Text(_))));
                from = cut;
            }
            proptest::prop_assert_eq!(got, codes);
            proptest::prop_assert_eq!(pending, "");
        }
    }
}
