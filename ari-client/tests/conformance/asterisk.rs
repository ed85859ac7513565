//! The `asterisk` resource: info, modules, logging, global variables.

use ari_client::models::GetInfoOnly;

use crate::suite::Suite;

pub(crate) async fn asterisk_ops(s: &mut Suite) {
    let c = s.client.clone();
    let a = c.asterisk();
    s.get("asterisk.getInfo", "asterisk/info", a.get_info())
        .await;
    s.call(
        "asterisk.getInfo",
        a.get_info().only([
            GetInfoOnly::Build,
            GetInfoOnly::System,
            GetInfoOnly::Config,
            GetInfoOnly::Status,
        ]),
    )
    .await;
    s.get("asterisk.ping", "asterisk/ping", a.ping()).await;
    s.get("asterisk.listModules", "asterisk/modules", a.list_modules())
        .await;
    s.get(
        "asterisk.getModule",
        "asterisk/modules/res_ari.so",
        a.get_module("res_ari.so"),
    )
    .await;
    // load/unload a harmless module the sandbox does not load; load the detectors the event
    // part needs (talk and tone detection), if they are not loaded yet
    if a.get_module("app_playtones.so").await.is_ok() {
        let _ = a.unload_module("app_playtones.so").await;
    }
    s.call("asterisk.loadModule", a.load_module("app_playtones.so"))
        .await;
    s.call(
        "asterisk.reloadModule",
        a.reload_module("res_rtp_asterisk.so"),
    )
    .await;
    s.call("asterisk.unloadModule", a.unload_module("app_playtones.so"))
        .await;
    for module in ["func_talkdetect.so", "res_stasis_broadcast.so"] {
        if a.get_module(module).await.is_err() {
            let loaded = a.load_module(module).await;
            s.check(loaded.is_ok(), format!("load {module}: {loaded:?}"));
        }
    }
    s.get(
        "asterisk.listLogChannels",
        "asterisk/logging",
        a.list_log_channels(),
    )
    .await;
    let log = format!("{}-log", s.prefix);
    s.call("asterisk.addLog", a.add_log(&log, "notice,warning"))
        .await;
    s.call("asterisk.deleteLog", a.delete_log(&log)).await;
    // rotating a log channel added over ARI also removes it (observed on 22.10.1)
    s.call("asterisk.addLog", a.add_log(&log, "notice")).await;
    s.call("asterisk.rotateLog", a.rotate_log(&log)).await;
    let _ = a.delete_log(&log).await;
    let var = format!("CONF_{}", s.prefix.replace('-', "_").to_uppercase());
    s.call(
        "asterisk.setGlobalVar",
        a.set_global_var(&var).value("g-value"),
    )
    .await;
    if let Some(v) = s
        .get(
            "asterisk.getGlobalVar",
            &format!("asterisk/variable?variable={var}"),
            a.get_global_var(&var),
        )
        .await
    {
        s.check(
            v.value == "g-value",
            format!("global variable read back {:?}", v.value),
        );
    }
}
