//! What a client's façade and its event thread share, besides the inbox:
//! the options, the cookie jar, the network policy, the DNS overrides and
//! the queue of queued delivery.
//! The event loop holds its reference until it has dropped every easy
//! handle, so the jar's share handle outlives them.

use std::sync::Arc;

use crate::cookies::CookieJar;
use crate::dns::Dns;
use crate::error::{Code, Error};
use crate::options::{ClientOptions, Delivery};
use crate::policy::Policy;
use crate::task::TaskQueue;

pub(crate) struct ClientState {
    pub options: ClientOptions,
    /// With `enable_cookies`: the jar every task shares.
    pub jar: Option<CookieJar>,
    pub policy: Policy,
    pub dns: Dns,
    /// Queued delivery: where the tasks' events wait for the host.
    pub queue: Option<Arc<TaskQueue>>,
    /// Whether the environment named a proxy when the client was made
    /// (see `environment_names_a_proxy`).
    pub env_proxy: bool,
}

/// The variables libcurl reads for the proxy of an http:// or https://
/// URL when no `proxy` is set. Without any of them, a client tells libcurl
/// so once, instead of libcurl looking each one up for every request.
const PROXY_VARIABLES: [&str; 5] = [
    "http_proxy",
    "https_proxy",
    "HTTPS_PROXY",
    "all_proxy",
    "ALL_PROXY",
];

fn environment_names_a_proxy() -> bool {
    PROXY_VARIABLES
        .iter()
        .any(|name| std::env::var_os(name).is_some())
}

impl ClientState {
    /// Checks the options and loads the jar: InvalidArgument for options
    /// libcurl would refuse, a policy or DNS entry that is malformed, or a
    /// cookie file that cannot be read.
    pub fn new(options: ClientOptions) -> Result<ClientState, Error> {
        options.validate()?;
        let policy = Policy::new(&options.allowed_hosts, options.https_only)?;
        let dns = Dns::new(&options.resolve, options.doh_url.as_deref())?;
        let jar = match options.enable_cookies {
            true => Some(CookieJar::new(options.cookie_file.clone())?),
            false => None,
        };
        let queue = match options.delivery {
            Delivery::EventThread => None,
            Delivery::Queued => Some(Arc::new(TaskQueue::new(options.max_queued_bytes).map_err(
                |e| {
                    Error::new(
                        Code::NETTASK_E_INTERNAL,
                        format!("cannot make the delivery queue's descriptor: {e}"),
                    )
                },
            )?)),
        };
        Ok(ClientState {
            options,
            jar,
            policy,
            dns,
            queue,
            env_proxy: environment_names_a_proxy(),
        })
    }
}
