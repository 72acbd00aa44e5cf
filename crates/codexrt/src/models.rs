//! [`Models`]: the models codex offers, one page at a time or all of them.
//!
//! ```no_run
//! use codexrt::Client;
//! use codexrt::protocol::types::ModelListParams;
//!
//! # async fn demo(client: &Client) -> Result<(), codexrt::ClientError> {
//! for model in client.models().all(ModelListParams::default(), 10).await? {
//!     println!("{} ({})", model.id, model.display_name);
//! }
//! # Ok(())
//! # }
//! ```

use codexrt_protocol::ClientRequest;
use codexrt_protocol::types::{Model, ModelListParams, ModelListResponse};

use crate::args::FieldSince;
use crate::{Client, ClientError};

/// `modelProvider` on `model/list` is new in 0.169.0; older servers would
/// ignore it and list the default provider's models.
const MODEL_PROVIDER: FieldSince = FieldSince {
    method: ModelListParams::METHOD,
    field: "modelProvider",
    since: (0, 169, 0),
};

/// The models codex offers, from [`Client::models`].
///
/// Every method's errors are those of
/// [`Runtime::call`](codexrt_core::Runtime::call) as [`ClientError::Runtime`]
/// unless it says otherwise.
#[derive(Debug, Clone, Copy)]
pub struct Models<'a> {
    client: &'a Client,
}

impl<'a> Models<'a> {
    pub(crate) fn new(client: &'a Client) -> Self {
        Models { client }
    }

    /// One page of models (`model/list`); `params` pages (`cursor`,
    /// `limit`), includes hidden models, or names a model provider
    /// (`ModelListParams::default()` for the first page of codex's
    /// default).
    ///
    /// # Errors
    /// [`ClientError::FieldUnavailable`] when `model_provider` is set and
    /// codex is older than 0.169.0 (nothing is sent);
    /// [`ClientError::Runtime`] when the call fails.
    ///
    /// # Cancel safety
    /// As for [`Runtime::call`](codexrt_core::Runtime::call).
    pub async fn list(&self, params: ModelListParams) -> Result<ModelListResponse, ClientError> {
        let runtime = self.client.live_runtime().await?;
        MODEL_PROVIDER.check(
            params.model_provider.is_some(),
            &runtime.server_info().version,
        )?;
        Ok(runtime.call(params).await?)
    }

    /// Every model, following `nextCursor` from the page `params` asks for,
    /// reading at most `max_pages` pages.
    ///
    /// # Errors
    /// As for [`list`](Models::list), and [`ClientError::TooManyPages`]
    /// when a page after the `max_pages`th remains (with `max_pages` 0,
    /// when there is any page at all).
    ///
    /// # Cancel safety
    /// Dropping it abandons the page being read; nothing is changed on
    /// the server.
    pub async fn all(
        &self,
        mut params: ModelListParams,
        max_pages: usize,
    ) -> Result<Vec<Model>, ClientError> {
        let mut models = Vec::new();
        for _ in 0..max_pages {
            let page = self.list(params.clone()).await?;
            models.extend(page.data);
            match page.next_cursor {
                Some(cursor) => params.cursor = Some(cursor),
                None => return Ok(models),
            }
        }
        Err(ClientError::TooManyPages {
            method: ModelListParams::METHOD,
            pages: max_pages,
        })
    }
}
