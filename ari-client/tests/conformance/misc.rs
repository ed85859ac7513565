//! The small resources: device states, events (user events, StasisBroadcast(), REST over
//! the websocket), sounds, endpoints (the PJSIP ones: `sip_ops`) and mailboxes.

use std::time::Duration;

use ari_client::models::UpdateDeviceState;
use ari_client::ErrorKind;
use percent_encoding::{utf8_percent_encode, NON_ALPHANUMERIC};
use serde_json::json;

use crate::suite::Suite;

pub(crate) async fn misc_ops(s: &mut Suite, main_ws: &tokio::sync::mpsc::UnboundedSender<String>) {
    let c = s.client.clone();
    let app = s.app.clone();
    let p = s.prefix.clone();

    // device states (the app is subscribed to all: subscribeAll)
    let ds = c.device_states();
    let dev = format!("Stasis:{p}-dev");
    let _ = c
        .applications()
        .subscribe(&app, format!("deviceState:{dev}").as_str())
        .await;
    s.call(
        "deviceStates.update",
        ds.update(&dev, UpdateDeviceState::Inuse),
    )
    .await;
    s.wait_type("DeviceStateChanged", Duration::from_secs(2), |v| {
        v["device_state"]["name"] == dev.as_str()
    })
    .await;
    s.get("deviceStates.list", "deviceStates", ds.list()).await;
    s.get(
        "deviceStates.get",
        &format!(
            "deviceStates/{}",
            utf8_percent_encode(&dev, NON_ALPHANUMERIC)
        ),
        ds.get(&dev),
    )
    .await;
    s.call("deviceStates.delete", ds.delete(&dev)).await;

    // user event with a channel source (ChannelUserevent)
    let u = format!("{p}-u");
    if s.call_into_app("answer", &u).await {
        s.call(
            "events.userEvent",
            c.events_api()
                .user_event("ConformanceEvent", &app)
                .source(format!("channel:{u}"))
                .variables([("k", json!("v"))]),
        )
        .await;
        s.wait_type("ChannelUserevent", Duration::from_secs(2), |v| {
            v["eventname"] == "ConformanceEvent"
        })
        .await;
        // StasisBroadcast(): a Local channel whose ;1 half runs `broadcast-<app>` is offered
        // to our app only (CallBroadcast); claiming it puts it into the app (CallClaimed,
        // StasisStart). The claim of a channel that was not offered is refused first.
        s.expect_err(
            "events.claimChannel",
            &[ErrorKind::NotFound, ErrorKind::Conflict, ErrorKind::BadRequest, ErrorKind::PreconditionFailed, ErrorKind::Server],
            "only a channel offered by StasisBroadcast() can be claimed (extension broadcast-<app> in [ari-test]; 501 if res_stasis_broadcast is not loaded)",
            c.events_api().claim_channel(&u, &app),
        )
        .await;
        let bc = format!("{p}-bcast");
        let made = c
            .channels()
            .originate_with_id(&bc, "Local/answer@ari-test")
            .context("ari-test")
            .extension(format!("broadcast-{app}"))
            .priority(1)
            .await;
        s.channels.push(bc.clone());
        let offered = made.is_ok()
            && s.wait_type("CallBroadcast", Duration::from_secs(3), |v| {
                v["channel"]["id"] == bc.as_str()
            })
            .await
            .is_some();
        if offered {
            s.call(
                "events.claimChannel",
                c.events_api().claim_channel(&bc, &app),
            )
            .await;
            s.wait_type("CallClaimed", Duration::from_secs(2), |v| {
                v["channel"]["id"] == bc.as_str()
            })
            .await;
            s.stasis_started(&bc).await;
        }
        let _ = c.channels().hangup(&bc).await;
        let _ = c.channels().hangup(&u).await;
    }

    // REST over the websocket: RESTResponse
    let request = json!({"type": "RESTRequest", "transaction_id": format!("{p}-t"), "request_id": "r1", "method": "GET", "uri": "asterisk/ping"});
    let _ = main_ws.send(request.to_string());
    s.wait_type("RESTResponse", Duration::from_secs(2), |_| true)
        .await;

    // sounds
    let sounds = c.sounds();
    s.get(
        "sounds.list",
        "sounds?lang=en&format=gsm",
        sounds.list().lang("en").format("gsm"),
    )
    .await;
    s.get(
        "sounds.get",
        "sounds/hello-world",
        sounds.get("hello-world"),
    )
    .await;

    // endpoints (the PJSIP ones: sip_ops)
    let ep = c.endpoints();
    s.get("endpoints.list", "endpoints", ep.list()).await;

    // mailboxes: the Debian build has no res_ari_mailboxes (the whole resource is 404), so
    // the client, which read the modules at connect, refuses them before sending
    let mb = c.mailboxes();
    let no_mb = "this Debian build ships no res_ari_mailboxes (/ari/mailboxes is 404): refused before sending";
    let kinds = [ErrorKind::Unsupported];
    s.expect_err("mailboxes.list", &kinds, no_mb, mb.list())
        .await;
    s.expect_err("mailboxes.get", &kinds, no_mb, mb.get("1000@default"))
        .await;
    s.expect_err(
        "mailboxes.update",
        &kinds,
        no_mb,
        mb.update("1000@default", 1, 2),
    )
    .await;
    s.expect_err("mailboxes.delete", &kinds, no_mb, mb.delete("1000@default"))
        .await;
}
