//! Pins how lenient decoding is: unknown event types and fields, missing optional fields,
//! values the spec does not list, `null` where the spec says string, malformed JSON.

use ari_client::events::{Event, PlaybackStarted, StasisStart};
use ari_client::models::{Channel, ChannelState, Playback, PlaybackState};
use ari_client::EventType;
use serde_json::{json, Value};

fn channel_json() -> Value {
    json!({
        "id": "call-1", "name": "Local/x@y-00000001;1", "state": "Up", "protocol_id": "",
        "caller": {"name": "", "number": ""}, "connected": {"name": "", "number": ""},
        "accountcode": "", "dialplan": {"context": "c", "exten": "e", "priority": 1,
        "app_name": "Stasis", "app_data": "hello"},
        "creationtime": "2026-11-26T13:22:17.521+0000", "language": "en"
    })
}

#[test]
fn unknown_event_type_keeps_the_raw_json() {
    let text = r#"{"type":"FancyNewEvent","application":"hello","timestamp":"2026-11-26T13:22:17.521+0000","x":{"y":[1,2]}}"#;
    let event = Event::from_json(text).unwrap();
    let Event::Unknown(unknown) = &event else {
        panic!("{event:?}")
    };
    assert_eq!(unknown.kind(), "FancyNewEvent");
    assert_eq!(event.type_name(), "FancyNewEvent");
    assert_eq!(unknown.raw()["x"]["y"][1], 2);
    assert_eq!(event.application(), Some("hello"));
    assert_eq!(
        event.timestamp().unwrap().to_string(),
        "2026-11-26T13:22:17.521+0000"
    );
    assert!(event.channel().is_none());
    let raw: Value = serde_json::from_str(text).unwrap();
    assert_eq!(serde_json::to_value(&event).unwrap(), raw);
    assert_eq!(serde_json::from_str::<Event>(text).unwrap(), event);
}

#[test]
fn unknown_fields_are_ignored_and_missing_optional_fields_are_none() {
    let mut c = channel_json();
    c["brand_new_field"] = json!({"a": 1});
    let event = json!({"type": "StasisStart", "application": "hello",
        "timestamp": "2026-11-26T13:22:17.521+0000", "args": [], "channel": c, "surprise": true});
    let event = Event::from_json(&event.to_string()).unwrap();
    let start = StasisStart::from_ref(&event).unwrap();
    assert!(start.replace_channel.is_none());
    assert!(start.asterisk_id.is_none());
    assert!(start.channel.caller_rdnis.is_none());
    assert!(start.channel.channelvars.is_none());
    assert_eq!(StasisStart::NAME, "StasisStart");
    assert!(PlaybackStarted::from_ref(&event).is_none());
    assert_eq!(event.channel().unwrap().id, "call-1");
    let owned = StasisStart::from_event(event.clone()).unwrap();
    assert_eq!(Event::from(owned), event);
}

#[test]
fn channel_states_outside_the_spec_keep_their_raw_string() {
    for (state, expected) in [
        ("Rsrvd", Some(ChannelState::Rsrvd)),
        ("Mute", Some(ChannelState::Mute)),
        ("Dialing Offhook", Some(ChannelState::DialingOffhook)),
        ("Pre-ring", Some(ChannelState::PreRing)),
        ("Unknown", Some(ChannelState::Unknown)),
        ("Unknown (3)", None),
        ("Rsrved", None),
    ] {
        let mut c = channel_json();
        c["state"] = json!(state);
        let channel: Channel = serde_json::from_value(c.clone()).unwrap();
        match expected {
            Some(v) => assert_eq!(channel.state, v, "{state}"),
            None => assert!(
                matches!(channel.state, ChannelState::Unrecognized(_)),
                "{state}"
            ),
        }
        assert_eq!(channel.state.as_str(), state);
        assert_eq!(channel.state.to_string(), state);
        assert_eq!(state.parse::<ChannelState>().unwrap(), channel.state);
        assert_eq!(
            serde_json::to_value(&channel).unwrap(),
            c,
            "{state} round trip"
        );
    }
}

#[test]
fn playback_paused_is_known() {
    let p: Playback = serde_json::from_value(json!({"id": "p", "media_uri": "sound:x",
        "target_uri": "channel:c", "language": "en", "state": "paused"}))
    .unwrap();
    assert_eq!(p.state, PlaybackState::Paused);
    let p: Playback = serde_json::from_value(json!({"id": "p", "media_uri": "sound:x",
        "target_uri": "channel:c", "state": "rewinding"}))
    .unwrap();
    assert_eq!(p.state.as_str(), "rewinding");
    assert!(p.language.is_none());
}

#[test]
fn null_where_the_spec_says_string() {
    let mut c = channel_json();
    c["accountcode"] = Value::Null; // required string
    c["caller_rdnis"] = Value::Null; // optional string
    c["protocol_id"] = Value::Null;
    let channel: Channel = serde_json::from_value(c).unwrap();
    assert_eq!(channel.accountcode, "");
    assert_eq!(channel.protocol_id, "");
    assert!(channel.caller_rdnis.is_none());
    // a required string that is missing altogether decodes as empty too
    let mut c = channel_json();
    c.as_object_mut().unwrap().remove("protocol_id");
    let channel: Channel = serde_json::from_value(c).unwrap();
    assert_eq!(channel.protocol_id, "");
}

#[test]
fn malformed_json_is_an_error_not_a_panic() {
    for text in [
        "",
        "{",
        "[]",
        "null",
        r#"{"no_type": 1}"#,
        r#"{"type": 5}"#,
        r#"{"type": "StasisStart"}"#,
        r#"{"type": "StasisStart", "application": "a", "timestamp": "yesterday", "args": [], "channel": {}}"#,
        r#"{"type": "ChannelDtmfReceived", "application": "a", "timestamp": "2026-11-26T13:22:17.521+0000", "digit": "1", "duration_ms": "long", "channel": {}}"#,
    ] {
        assert!(Event::from_json(text).is_err(), "{text:?} decoded");
        assert!(
            serde_json::from_str::<Event>(text).is_err(),
            "{text:?} decoded through serde"
        );
    }
}
