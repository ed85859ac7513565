//! Hostile ids for channels, bridges, playbacks and recordings.

use std::time::Duration;

use ari_client::models::RecordIfExists;
use ari_client::ErrorKind;
use serde_json::json;

use crate::suite::Suite;

/// The characters every hostile id contains.
const HOSTILE: &str = "/+?#% é✓";

fn hostile(prefix: &str, what: &str) -> String {
    format!("{prefix}-{what}{HOSTILE}")
}

/// Ids with `/ + ? # %`, a space and non-ASCII reach Asterisk intact; look-alike ids do not
/// reach another object; ids with control characters are refused before sending.
pub(crate) async fn hostile_ids(s: &mut Suite) {
    let c = s.client.clone();
    let ch = c.channels();
    let app = s.app.clone();
    let p = s.prefix.clone();

    let victim = format!("{p}-victim");
    s.call_into_app("answer", &victim).await;
    let victim_bridge = format!("{p}-vbridge");
    let _ = c.bridges().create_with_id(&victim_bridge).await;
    s.bridges.push(victim_bridge.clone());

    // channel
    let hc = hostile(&p, "chan");
    let made = ch
        .originate_with_id(&hc, "Local/answer@ari-test")
        .app(&app)
        .await;
    s.channels.push(hc.clone());
    let entered = made.is_ok() && s.stasis_started(&hc).await;
    let got = ch.get(&hc).await.map(|x| x.id.clone());
    let intact = made.as_ref().is_ok_and(|x| x.id == hc)
        && entered
        && got.as_ref().is_ok_and(|id| *id == hc);
    s.hostile.push(json!({"object": "channel", "id": hc, "intact": intact, "originate": format!("{:?}", made.map(|x| x.id.clone())), "get": format!("{got:?}")}));
    s.check(
        intact,
        format!("hostile channel id {hc:?} did not round-trip"),
    );

    // bridge
    let hb = hostile(&p, "bridge");
    let made = c.bridges().create_with_id(&hb).await;
    s.bridges.push(hb.clone());
    let got = c.bridges().get(&hb).await.map(|x| x.id.clone());
    let intact = made.as_ref().is_ok_and(|x| x.id == hb) && got.as_ref().is_ok_and(|id| *id == hb);
    s.hostile.push(json!({"object": "bridge", "id": hb, "intact": intact, "create": format!("{:?}", made.map(|x| x.id.clone())), "get": format!("{got:?}")}));
    s.check(
        intact,
        format!("hostile bridge id {hb:?} did not round-trip"),
    );
    let _ = c.bridges().destroy(&hb).await;

    // playback (on the victim channel)
    let hp = hostile(&p, "pb");
    let made = ch.play_with_id(&victim, &hp, "sound:hello-world").await;
    let got = c.playbacks().get(&hp).await.map(|x| x.id.clone());
    let intact = made.as_ref().is_ok_and(|x| x.id == hp) && got.as_ref().is_ok_and(|id| *id == hp);
    s.hostile.push(json!({"object": "playback", "id": hp, "intact": intact, "play": format!("{:?}", made.map(|x| x.id.clone())), "get": format!("{got:?}")}));
    s.check(
        intact,
        format!("hostile playback id {hp:?} did not round-trip"),
    );
    let _ = c.playbacks().stop(&hp).await;

    // recording: a name is also a file name below the spool folder (`/` makes a sub-folder)
    let hr = hostile(&p, "rec");
    s.stored.push(hr.clone());
    let made = ch
        .record(&victim, &hr, "wav")
        .max_duration_seconds(1)
        .if_exists(RecordIfExists::Overwrite)
        .await;
    let live = c.recordings().get_live(&hr).await.map(|x| x.name.clone());
    let _ = c.recordings().stop(&hr).await;
    s.wait_type("RecordingFinished", Duration::from_secs(3), |v| {
        v["recording"]["name"] == hr.as_str()
    })
    .await;
    let stored = c.recordings().get_stored(&hr).await.map(|x| x.name.clone());
    let intact = made.as_ref().is_ok_and(|x| x.name == hr)
        && live.as_ref().is_ok_and(|n| *n == hr)
        && stored.as_ref().is_ok_and(|n| *n == hr);
    s.hostile.push(json!({"object": "recording", "id": hr, "intact": intact, "record": format!("{:?}", made.map(|x| x.name.clone())), "get_live": format!("{live:?}"), "get_stored": format!("{stored:?}")}));
    s.check(
        intact,
        format!("hostile recording name {hr:?} did not round-trip"),
    );

    // look-alikes of the victim's ids must not address it
    let first = victim.chars().next().unwrap();
    let probes = [
        format!("{victim}?"),
        format!("{victim}?x=1"),
        format!("{victim}#"),
        format!("{victim}/"),
        format!("{victim}/."),
        format!("%{:02X}{}", first as u32, &victim[first.len_utf8()..]),
        format!("{victim} "),
        format!("./{victim}"),
        format!("../channels/{victim}"),
        // Asterisk reads ids as C strings: these would address the victim, so the client
        // refuses them before sending (tests/live_hostile.rs has the whole list)
        format!("{victim}\0"),
        format!("{victim}\0anything"),
        format!("{victim}\r\n"),
    ];
    let mut leaks = Vec::new();
    for probe in probes
        .iter()
        .filter(|p| p.contains(|c: char| c.is_ascii_control()))
    {
        let e = ch.hangup(probe).await.err();
        if e.as_ref()
            .is_none_or(|e| e.kind() != ErrorKind::InvalidArgument)
        {
            leaks.push(format!(
                "hangup {probe:?} was not refused before sending: {e:?}"
            ));
        }
    }
    for probe in &probes {
        if let Ok(x) = ch.get(probe).await {
            leaks.push(format!("GET channel {probe:?} returned channel {:?}", x.id));
        }
        let _ = ch.hangup(probe).await;
        let bprobe = probe.replace(&victim, &victim_bridge);
        if let Ok(x) = c.bridges().get(&bprobe).await {
            leaks.push(format!("GET bridge {bprobe:?} returned bridge {:?}", x.id));
        }
        let _ = c.bridges().destroy(&bprobe).await;
    }
    let victim_alive = ch.get(&victim).await.is_ok();
    let bridge_alive = c.bridges().get(&victim_bridge).await.is_ok();
    if !victim_alive {
        leaks.push("a look-alike hangup hung up the victim channel".into());
    }
    if !bridge_alive {
        leaks.push("a look-alike destroy destroyed the victim bridge".into());
    }
    s.hostile
        .push(json!({"object": "look-alike ids", "probes": probes, "leaks": leaks}));
    s.check(
        leaks.is_empty(),
        format!("look-alike ids reached another object: {leaks:?}"),
    );
    let _ = ch.hangup(&victim).await;
}
