//! PreferenceService: each caller's own preferences (GetPreferences,
//! UpdatePreferences with an update_mask).

use tezgram_sdk::v1 as pb;
use tezgram_sdk::v1::preference_service_server::PreferenceService;
use tonic::{Request, Response, Status};

use super::account::account_id;
use super::convert::timestamp;
use super::update::{kind, kind_to_pb};
use super::{Violations, caller};
use crate::domain::audit::{MAX_SIGNATURE, Preferences, PreferencesChange};
use crate::service::UserPreferences;

pub struct PreferenceApi {
    preferences: UserPreferences,
}

impl PreferenceApi {
    pub fn new(preferences: UserPreferences) -> Self {
        Self { preferences }
    }
}

fn preferences_to_pb(preferences: Preferences) -> pb::Preferences {
    let Preferences {
        default_account,
        signature,
        notify_kinds,
        updated_at,
    } = preferences;
    pb::Preferences {
        default_account_id: default_account.map(|a| a.to_string()).unwrap_or_default(),
        signature,
        notify_event_kinds: notify_kinds
            .into_iter()
            .map(|k| kind_to_pb(k) as i32)
            .collect(),
        update_time: updated_at.map(timestamp),
    }
}

/// signature checks a signature: Telegram's units, and no control
/// characters but newlines.
fn signature(value: &str, violations: &mut Violations) -> Option<String> {
    const FIELD: &str = "preferences.signature";
    let length = value.encode_utf16().count();
    if length > MAX_SIGNATURE {
        violations.add(
            FIELD,
            format!("{length} UTF-16 code units; at most {MAX_SIGNATURE}"),
        );
        return None;
    }
    if value.chars().any(|c| c.is_control() && c != '\n') {
        violations.add(
            FIELD,
            "must not hold control characters other than newlines",
        );
        return None;
    }
    Some(value.trim_end().to_owned())
}

#[tonic::async_trait]
impl PreferenceService for PreferenceApi {
    async fn get_preferences(
        &self,
        request: Request<pb::GetPreferencesRequest>,
    ) -> Result<Response<pb::GetPreferencesResponse>, Status> {
        let caller = caller(&request)?;
        let pb::GetPreferencesRequest {} = request.get_ref();
        let preferences = self.preferences.get(caller).await?;
        Ok(Response::new(pb::GetPreferencesResponse {
            preferences: Some(preferences_to_pb(preferences)),
        }))
    }

    async fn update_preferences(
        &self,
        request: Request<pb::UpdatePreferencesRequest>,
    ) -> Result<Response<pb::UpdatePreferencesResponse>, Status> {
        let caller = caller(&request)?;
        let pb::UpdatePreferencesRequest {
            preferences,
            update_mask,
        } = request.get_ref();
        let default = pb::Preferences::default();
        let pb::Preferences {
            default_account_id,
            signature: wire_signature,
            notify_event_kinds,
            // Output only.
            update_time: _,
        } = preferences.as_ref().unwrap_or(&default);
        let paths = update_mask
            .as_ref()
            .map(|m| m.paths.as_slice())
            .unwrap_or(&[]);
        let mut violations = Violations::default();
        if paths.is_empty() {
            violations.add("update_mask", "required: the fields to change");
        }
        let mut change = PreferencesChange::default();
        for path in paths {
            match path.as_str() {
                "default_account_id" => {
                    change.default_account = if default_account_id.is_empty() {
                        Some(None)
                    } else {
                        violations
                            .check(account_id(
                                "preferences.default_account_id",
                                default_account_id,
                            ))
                            .map(Some)
                    }
                }
                "signature" => change.signature = signature(wire_signature, &mut violations),
                "notify_event_kinds" => {
                    let mut kinds = Vec::new();
                    for (i, value) in notify_event_kinds.iter().enumerate() {
                        match kind(*value) {
                            Some(k) if !kinds.contains(&k) => kinds.push(k),
                            Some(_) => {}
                            None => violations.add(
                                &format!("preferences.notify_event_kinds[{i}]"),
                                "must be a known kind, not UNSPECIFIED",
                            ),
                        }
                    }
                    change.notify_kinds = Some(kinds);
                }
                other => violations.add("update_mask", format!("unknown path {other:?}")),
            }
        }
        violations.finish()?;
        let preferences = self.preferences.update(caller, change).await?;
        Ok(Response::new(pb::UpdatePreferencesResponse {
            preferences: Some(preferences_to_pb(preferences)),
        }))
    }
}
