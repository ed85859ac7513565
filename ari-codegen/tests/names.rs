//! Pins identifier conversion of the tricky names.

use std::path::Path;

use ari_codegen::internals::load_ir;
use ari_codegen::internals::names::*;

#[test]
fn type_names() {
    for (api, rust) in [
        ("RTPstat", "RtpStat"),
        ("RESTResponse", "RestResponse"),
        ("RESTRequest", "RestRequest"),
        ("RESTQueryStringParameter", "RestQueryStringParameter"),
        ("CallerID", "CallerId"),
        ("DialplanCEP", "DialplanCep"),
        ("ChannelDtmfReceived", "ChannelDtmfReceived"),
        ("LiveRecording", "LiveRecording"),
        ("StasisStart", "StasisStart"),
    ] {
        assert_eq!(type_name(api), rust, "{api}");
    }
}

#[test]
fn method_names_and_stems() {
    for (nick, method, stem) in [
        ("sendDTMF", "send_dtmf", "SendDtmf"),
        ("rtpstatistics", "rtp_statistics", "RtpStatistics"),
        ("move", "move_to_app", "MoveToApp"),
        ("externalMedia", "external_media", "ExternalMedia"),
        ("transfer_progress", "transfer_progress", "TransferProgress"),
        ("originateWithId", "originate_with_id", "OriginateWithId"),
        (
            "continueInDialplan",
            "continue_in_dialplan",
            "ContinueInDialplan",
        ),
        ("getChannelVar", "get_channel_var", "GetChannelVar"),
        ("listByTech", "list_by_tech", "ListByTech"),
        ("startMoh", "start_moh", "StartMoh"),
    ] {
        assert_eq!(method_name(nick), method, "{nick}");
        assert_eq!(operation_stem(nick), stem, "{nick}");
    }
}

#[test]
fn builder_names_are_unique_and_say_what_they_do() {
    for (resource, nick, builder) in [
        ("channels", "get", "ChannelGet"),
        ("bridges", "get", "BridgeGet"),
        ("channels", "list", "ChannelList"),
        ("channels", "sendDTMF", "ChannelSendDtmf"),
        ("channels", "move", "ChannelMoveToApp"),
        ("deviceStates", "update", "DeviceStateUpdate"),
        ("mailboxes", "update", "MailboxUpdate"),
        ("asterisk", "ping", "AsteriskPing"),
        ("recordings", "getLive", "RecordingGetLive"),
        ("applications", "subscribe", "ApplicationSubscribe"),
    ] {
        assert_eq!(builder_name(resource, nick), builder, "{resource}.{nick}");
    }
    // every builder of the bundled API has a name of its own
    let ir = load_ir(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("../swagger-specs"),
        &Default::default(),
    )
    .unwrap();
    let mut seen = std::collections::BTreeSet::new();
    for r in &ir.resources {
        for o in &r.operations {
            assert!(
                seen.insert(o.builder_name.clone()),
                "{} twice",
                o.builder_name
            );
        }
    }
}

#[test]
fn field_names() {
    for (api, rust) in [
        ("type", "kind"),
        ("absorbDTMF", "absorb_dtmf"),
        ("channelId", "channel_id"),
        ("appArgs", "app_args"),
        ("maxDurationSeconds", "max_duration_seconds"),
        ("reason_code", "reason_code"),
        ("otherChannelId", "other_channel_id"),
        (
            "inhibitConnectedLineUpdates",
            "inhibit_connected_line_updates",
        ),
        ("offsetms", "offsetms"),
        ("variables", "variables"),
    ] {
        assert_eq!(field_name(api), rust, "{api}");
    }
    assert_eq!(module_name("deviceStates"), "device_states");
    assert_eq!(repository_name("deviceStates"), "DeviceStates");
}

#[test]
fn variant_names() {
    for (value, variant) in [
        ("*", "Star"),
        ("#", "Hash"),
        ("in", "In"),
        ("Dialing Offhook", "DialingOffhook"),
        ("Pre-ring", "PreRing"),
        ("NOT_INUSE", "NotInuse"),
        ("RINGINUSE", "Ringinuse"),
        ("no_answer", "NoAnswer"),
        ("Rsrvd", "Rsrvd"),
        ("Unknown", "Unknown"),
        ("NonQualified", "NonQualified"),
    ] {
        assert_eq!(variant_name(value).as_deref(), Some(variant), "{value:?}");
    }
    assert_eq!(variant_name("-"), None);
    assert_eq!(variant_name("3pm").as_deref(), Some("V3pm"));
}

#[test]
fn enum_names_in_the_ir() {
    let ir = load_ir(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("../swagger-specs"),
        &Default::default(),
    )
    .unwrap();
    let names: Vec<&str> = ir.enums.iter().map(|e| e.name.as_str()).collect();
    for expected in [
        "ChannelState",
        "PlaybackState",
        "LiveRecordingState",
        "BridgeType",
        "DeviceStateValue",
        "EndpointState",
        "ContactInfoContactStatus",
        "HangupReason",
        "MuteDirection",
        "RecordIfExists",
        "RecordTerminateOn",
        "SnoopChannelSpy",
        "SnoopChannelWhisper",
        "ExternalMediaEncapsulation",
        "UpdateDeviceState",
        "ControlOperation",
        "GetInfoOnly",
    ] {
        assert!(names.contains(&expected), "{expected} not in {names:?}");
    }
    // record's ifExists is shared by channels and bridges: one enum
    let if_exists = ir
        .enums
        .iter()
        .find(|e| e.name == "RecordIfExists")
        .unwrap();
    assert_eq!(if_exists.used_by.len(), 2, "{:?}", if_exists.used_by);
    // the `type` property of a model keeps its wire name
    let log = ir
        .models
        .iter()
        .find(|m| m.api_name == "LogChannel")
        .unwrap();
    assert!(log
        .fields
        .iter()
        .any(|f| f.name == "kind" && f.api_name == "type"));
}
