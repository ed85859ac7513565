//! The `applications` resource: list, get, subscribe/unsubscribe and event filters.

use std::time::Duration;

use ari_client::models::UpdateDeviceState;
use serde_json::json;

use crate::suite::Suite;

pub(crate) async fn application_ops(s: &mut Suite) {
    let c = s.client.clone();
    let apps = c.applications();
    let app = s.app.clone();
    s.get("applications.list", "applications", apps.list())
        .await;
    s.get(
        "applications.get",
        &format!("applications/{app}"),
        apps.get(&app),
    )
    .await;
    let device = format!("Stasis:{}-dev", s.prefix);
    let source = format!("deviceState:{device}");
    if let Some(a) = s
        .call(
            "applications.subscribe",
            apps.subscribe(&app, source.as_str()),
        )
        .await
    {
        // with subscribeAll the app is already subscribed to every device
        let all = a
            .device_names
            .iter()
            .any(|d| d == &device || d.contains("ALL_TOPIC"));
        s.check(
            all,
            format!(
                "subscribe: device_names {:?} lacks {device}",
                a.device_names
            ),
        );
    }
    if let Some(a) = s
        .call(
            "applications.unsubscribe",
            apps.unsubscribe(&app, source.as_str()),
        )
        .await
    {
        s.check(
            !a.device_names.contains(&device),
            "unsubscribe kept the device",
        );
    }
    // filter: only ChannelUserevent may pass; a user event passes, a device state does not
    let filter = json!({"allowed": [{"type": "ChannelUserevent"}]});
    if let Some(a) = s
        .call("applications.filter", apps.filter(&app).filter(filter))
        .await
    {
        s.check(
            a.events_allowed.len() == 1,
            format!("filter: events_allowed {:?}", a.events_allowed),
        );
    }
    let name = format!("{}-filtered", s.prefix);
    let _ = c.events_api().user_event(&name, &app).await;
    let passed = s
        .wait_type("ChannelUserevent", Duration::from_secs(2), |v| {
            v["eventname"] == name.as_str()
        })
        .await;
    s.check(
        passed.is_some(),
        "filter: an allowed ChannelUserevent did not arrive",
    );
    let dev2 = format!("Stasis:{}-filtered", s.prefix);
    let _ = c
        .device_states()
        .update(&dev2, UpdateDeviceState::Busy)
        .await;
    let blocked = s
        .wait_type("DeviceStateChanged", Duration::from_millis(700), |v| {
            v["device_state"]["name"] == dev2.as_str()
        })
        .await;
    s.check(
        blocked.is_none(),
        "filter: a DeviceStateChanged that the filter blocks arrived",
    );
    let _ = c.device_states().delete(&dev2).await;
    s.call("applications.filter", apps.filter(&app).filter(json!({})))
        .await;
}
