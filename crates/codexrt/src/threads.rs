//! [`Threads`]: the stored threads of a codex home, listed, read, archived,
//! unarchived and renamed.

use codexrt_protocol::types::{
    Thread, ThreadArchiveParams, ThreadListParams, ThreadListResponse, ThreadReadParams,
    ThreadSetNameParams, ThreadUnarchiveParams,
};

use crate::{Client, ClientError};

/// Thread management, from [`Client::threads`].
///
/// Every method is one call; its errors are those of
/// [`Runtime::call`](codexrt_core::Runtime::call) as [`ClientError::Runtime`],
/// and dropping its future abandons the call (the server may have acted).
#[derive(Debug, Clone, Copy)]
pub struct Threads<'a> {
    client: &'a Client,
}

impl<'a> Threads<'a> {
    pub(crate) fn new(client: &'a Client) -> Self {
        Threads { client }
    }

    /// One page of stored threads (`thread/list`); `params` filters, sorts
    /// and pages (`ThreadListParams::default()` for the first page of all).
    ///
    /// # Errors
    /// [`ClientError::Runtime`] when the call fails.
    ///
    /// # Cancel safety
    /// As for [`Runtime::call`](codexrt_core::Runtime::call).
    pub async fn list(&self, params: ThreadListParams) -> Result<ThreadListResponse, ClientError> {
        Ok(self.client.live_runtime().await?.call(params).await?)
    }

    /// A thread with its turns (`thread/read` with `includeTurns`).
    ///
    /// # Errors
    /// [`ClientError::Runtime`] when the call fails.
    ///
    /// # Cancel safety
    /// As for [`Runtime::call`](codexrt_core::Runtime::call).
    pub async fn read(&self, thread_id: impl Into<String>) -> Result<Thread, ClientError> {
        let params = ThreadReadParams {
            thread_id: thread_id.into(),
            include_turns: Some(true),
        };
        Ok(self.client.live_runtime().await?.call(params).await?.thread)
    }

    /// Archives a thread (`thread/archive`).
    ///
    /// # Errors
    /// [`ClientError::Runtime`] when the call fails.
    ///
    /// # Cancel safety
    /// As for [`Runtime::call`](codexrt_core::Runtime::call).
    pub async fn archive(&self, thread_id: impl Into<String>) -> Result<(), ClientError> {
        let params = ThreadArchiveParams {
            thread_id: thread_id.into(),
        };
        self.client.live_runtime().await?.call(params).await?;
        Ok(())
    }

    /// Restores an archived thread (`thread/unarchive`) and returns it.
    ///
    /// # Errors
    /// [`ClientError::Runtime`] when the call fails.
    ///
    /// # Cancel safety
    /// As for [`Runtime::call`](codexrt_core::Runtime::call).
    pub async fn unarchive(&self, thread_id: impl Into<String>) -> Result<Thread, ClientError> {
        let params = ThreadUnarchiveParams {
            thread_id: thread_id.into(),
        };
        Ok(self.client.live_runtime().await?.call(params).await?.thread)
    }

    /// Renames a thread (`thread/name/set`).
    ///
    /// # Errors
    /// [`ClientError::Runtime`] when the call fails.
    ///
    /// # Cancel safety
    /// As for [`Runtime::call`](codexrt_core::Runtime::call).
    pub async fn set_name(
        &self,
        thread_id: impl Into<String>,
        name: impl Into<String>,
    ) -> Result<(), ClientError> {
        let params = ThreadSetNameParams {
            thread_id: thread_id.into(),
            name: name.into(),
        };
        self.client.live_runtime().await?.call(params).await?;
        Ok(())
    }
}
