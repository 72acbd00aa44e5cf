//! [`CodexConfig`]: codex's own configuration (its `config.toml` and the
//! layers over it), read and written through codex.
//!
//! ```no_run
//! use codexrt::Client;
//! use codexrt::protocol::types::MergeStrategy;
//! use codexrt::serde_json::json;
//!
//! # async fn demo(client: &Client) -> Result<(), codexrt::ClientError> {
//! let config = client.codex_config();
//! let read = config.read().await?;
//! println!("model: {:?}", read.config.model);
//! let written = config
//!     .write_value("model_reasoning_effort", json!("high"), MergeStrategy::Replace)
//!     .await?;
//! println!("{:?} in {}", written.status, written.file_path);
//! # Ok(())
//! # }
//! ```

use codexrt_protocol::ClientRequest;
use codexrt_protocol::types::{
    ConfigBatchWriteParams, ConfigEdit, ConfigReadParams, ConfigReadResponse,
    ConfigRequirementsReadParams, ConfigRequirementsReadResponse, ConfigValueWriteParams,
    ConfigWriteResponse, MergeStrategy,
};
use serde_json::Value;

use crate::args::not_blank;
use crate::{Client, ClientError};

/// codex's configuration, from [`Client::codex_config`].
///
/// Writes go to the user's `config.toml` in codex's home (`CODEX_HOME`)
/// unless a file is named, and apply to every later thread of that home.
/// Key paths are dotted TOML paths (`model`, `features.web_search`,
/// `mcp_servers.docs.command`).
///
/// Every method is one call; its errors are those of
/// [`Runtime::call`](codexrt_core::Runtime::call) as [`ClientError::Runtime`]
/// unless it says otherwise (codex refuses an unknown key, a value of the
/// wrong type, or a stale `expected_version` with
/// [`CoreError::Peer`](codexrt_core::CoreError::Peer)), and dropping its
/// future abandons the call (the server may have acted).
#[derive(Debug, Clone, Copy)]
pub struct CodexConfig<'a> {
    client: &'a Client,
}

impl<'a> CodexConfig<'a> {
    pub(crate) fn new(client: &'a Client) -> Self {
        CodexConfig { client }
    }

    /// The effective configuration (`config/read`) for codex's own working
    /// directory, with where each value comes from (`origins`).
    ///
    /// # Errors
    /// [`ClientError::Runtime`] when the call fails.
    ///
    /// # Cancel safety
    /// As for [`Runtime::call`](codexrt_core::Runtime::call).
    pub async fn read(&self) -> Result<ConfigReadResponse, ClientError> {
        self.read_with(ConfigReadParams::default()).await
    }

    /// The configuration as `params` asks (`config/read`): for a working
    /// directory (its project layers), with every layer.
    ///
    /// # Errors
    /// [`ClientError::Runtime`] when the call fails.
    ///
    /// # Cancel safety
    /// As for [`Runtime::call`](codexrt_core::Runtime::call).
    pub async fn read_with(
        &self,
        params: ConfigReadParams,
    ) -> Result<ConfigReadResponse, ClientError> {
        Ok(self.client.live_runtime().await?.call(params).await?)
    }

    /// Writes one value (`config/value/write`) at `key_path` of the user's
    /// `config.toml`: `Replace` sets it, `Upsert` merges a table into the
    /// one there.
    ///
    /// # Errors
    /// [`ClientError::InvalidArgument`] for a blank key path (nothing is
    /// sent); [`ClientError::Runtime`] when the call fails.
    ///
    /// # Cancel safety
    /// As for [`Runtime::call`](codexrt_core::Runtime::call).
    pub async fn write_value(
        &self,
        key_path: impl Into<String>,
        value: Value,
        merge_strategy: MergeStrategy,
    ) -> Result<ConfigWriteResponse, ClientError> {
        self.write_value_with(ConfigValueWriteParams {
            expected_version: None,
            file_path: None,
            key_path: key_path.into(),
            merge_strategy,
            value,
        })
        .await
    }

    /// Writes one value as `params` says (`config/value/write`): another
    /// file, or only if the file is still at `expected_version`.
    ///
    /// # Errors
    /// As for [`write_value`](CodexConfig::write_value).
    ///
    /// # Cancel safety
    /// As for [`Runtime::call`](codexrt_core::Runtime::call).
    pub async fn write_value_with(
        &self,
        mut params: ConfigValueWriteParams,
    ) -> Result<ConfigWriteResponse, ClientError> {
        params.key_path = not_blank(ConfigValueWriteParams::METHOD, "keyPath", params.key_path)?;
        Ok(self.client.live_runtime().await?.call(params).await?)
    }

    /// Writes several values at once (`config/batchWrite`): all of them or
    /// none.
    ///
    /// # Errors
    /// [`ClientError::InvalidArgument`] for no edits or a blank key path
    /// (nothing is sent); [`ClientError::Runtime`] when the call fails.
    ///
    /// # Cancel safety
    /// As for [`Runtime::call`](codexrt_core::Runtime::call).
    pub async fn write_batch(
        &self,
        edits: Vec<ConfigEdit>,
    ) -> Result<ConfigWriteResponse, ClientError> {
        self.write_batch_with(ConfigBatchWriteParams {
            edits,
            ..ConfigBatchWriteParams::default()
        })
        .await
    }

    /// Writes several values as `params` says (`config/batchWrite`):
    /// another file, an expected version, reloading the loaded threads'
    /// user configuration.
    ///
    /// # Errors
    /// As for [`write_batch`](CodexConfig::write_batch).
    ///
    /// # Cancel safety
    /// As for [`Runtime::call`](codexrt_core::Runtime::call).
    pub async fn write_batch_with(
        &self,
        mut params: ConfigBatchWriteParams,
    ) -> Result<ConfigWriteResponse, ClientError> {
        let method = ConfigBatchWriteParams::METHOD;
        if params.edits.is_empty() {
            return Err(ClientError::InvalidArgument {
                method,
                argument: "edits",
                problem: "is empty",
            });
        }
        for edit in &mut params.edits {
            edit.key_path = not_blank(method, "keyPath", std::mem::take(&mut edit.key_path))?;
        }
        Ok(self.client.live_runtime().await?.call(params).await?)
    }

    /// The requirements an administrator set for codex
    /// (`configRequirements/read`): allowed sandboxes, approval policies
    /// and the like; `None` when there are none.
    ///
    /// # Errors
    /// [`ClientError::Runtime`] when the call fails.
    ///
    /// # Cancel safety
    /// As for [`Runtime::call`](codexrt_core::Runtime::call).
    pub async fn requirements(&self) -> Result<ConfigRequirementsReadResponse, ClientError> {
        let runtime = self.client.live_runtime().await?;
        Ok(runtime.call(ConfigRequirementsReadParams).await?)
    }
}
