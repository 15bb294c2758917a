//! The fields that name a shared library on a server — server (and port), database, user,
//! password — and the address they make. Used where a shared library is opened and where a
//! library file is moved to one. The password stays in memory: it is never stored.

use egui::Ui;

use super::widgets::UiExt;
use crate::db::{ServerAddress, TlsMode};

/// What is typed into the server fields.
#[derive(Clone, Debug, Default)]
pub struct ServerForm {
    pub host: String,
    pub database: String,
    pub user: String,
    pub password: String,
    /// TLS settings of an address this form was filled from (kept when it is tried again).
    tls: Option<(TlsMode, Option<std::path::PathBuf>)>,
}

impl ServerForm {
    /// Empty fields, the user name filled in with this computer's user.
    pub fn new() -> Self {
        ServerForm {
            user: whoami::username().unwrap_or_default(),
            ..ServerForm::default()
        }
    }

    /// The fields of `address`.
    pub fn of(address: &ServerAddress) -> Self {
        ServerForm {
            host: if address.port == 5432 {
                address.host.clone()
            } else {
                format!("{}:{}", address.host, address.port)
            },
            database: address.database.clone(),
            user: address.user.clone(),
            password: String::new(),
            tls: Some((address.tls, address.root_cert.clone())),
        }
    }

    /// Draws the fields (`id` keeps two forms on one screen apart); the password problem, if
    /// any, goes right under them.
    pub fn ui(&mut self, ui: &mut Ui, id: &str, password_problem: Option<&str>) {
        egui::Grid::new(id)
            .num_columns(2)
            .spacing([12.0, 6.0])
            .show(ui, |ui| {
                ui.labelled_text("Server", &mut self.host, 300.0)
                    .on_hover_text("The server's name or address, and :port if it is not 5432");
                ui.end_row();
                ui.labelled_text("Database", &mut self.database, 300.0);
                ui.end_row();
                ui.labelled_text("User", &mut self.user, 300.0);
                ui.end_row();
                let l = ui.label("Password");
                ui.add(
                    egui::TextEdit::singleline(&mut self.password)
                        .password(true)
                        .desired_width(300.0),
                )
                .labelled_by(l.id);
                ui.end_row();
            });
        if let Some(p) = password_problem {
            ui.error_label(p);
        }
    }

    /// The password, if one was typed.
    pub fn password(&self) -> Option<String> {
        (!self.password.is_empty()).then(|| self.password.clone())
    }

    /// The address the fields describe, or what is missing, in words.
    pub fn address(&self) -> Result<ServerAddress, String> {
        let host = self.host.trim();
        if host.is_empty() {
            return Err("Type the server's name or address.".to_owned());
        }
        let (host, port) = match host.rsplit_once(':') {
            Some((h, p)) if !h.contains(':') || h.starts_with('[') => (
                h.trim_start_matches('[').trim_end_matches(']').to_owned(),
                p.parse::<u16>()
                    .map_err(|_| format!("{p} is not a port number."))?,
            ),
            _ => (host.to_owned(), 5432),
        };
        let user = self.user.trim().to_owned();
        if user.is_empty() {
            return Err("Type the user name the server knows you by.".to_owned());
        }
        let database = match self.database.trim() {
            "" => user.clone(),
            d => d.to_owned(),
        };
        let (tls, root_cert) = self.tls.clone().unwrap_or_default();
        Ok(ServerAddress {
            host,
            port,
            database,
            user,
            tls,
            root_cert,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_make_an_address() {
        let form = ServerForm {
            host: "db.example.org:5433".into(),
            database: String::new(),
            user: "circ".into(),
            ..ServerForm::default()
        };
        let a = form.address().unwrap();
        assert_eq!(
            (a.host.as_str(), a.port, a.database.as_str()),
            ("db.example.org", 5433, "circ")
        );
        let form = ServerForm {
            host: "[::1]:6000".into(),
            user: "u".into(),
            database: "lib".into(),
            ..ServerForm::default()
        };
        assert_eq!(
            form.address().unwrap().to_string(),
            "postgres://u@[::1]:6000/lib"
        );
        let form = ServerForm {
            host: "h:port".into(),
            user: "u".into(),
            ..ServerForm::default()
        };
        assert_eq!(form.address().unwrap_err(), "port is not a port number.");
        assert!(ServerForm::default().address().is_err());
    }
}
