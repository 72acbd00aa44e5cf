//! [`Mcp`]: the MCP servers codex is configured with, their status, tools
//! and resources, and reloading their configuration.
//!
//! ```no_run
//! use codexrt::Client;
//!
//! # async fn demo(client: &Client) -> Result<(), codexrt::ClientError> {
//! for server in client.mcp().all(10).await? {
//!     println!("{}: {} tools", server.name, server.tools.len());
//! }
//! client.mcp().reload().await?;
//! # Ok(())
//! # }
//! ```

use codexrt_protocol::ClientRequest;
use codexrt_protocol::types::{
    ConfigMcpServerReloadParams, ListMcpServerStatusParams, ListMcpServerStatusResponse,
    McpServerStatus,
};

use crate::args::FieldSince;
use crate::{Client, ClientError};

/// `serverName` on `mcpServerStatus/list` is new in 0.160.1.
const SERVER_NAME: FieldSince = FieldSince {
    method: ListMcpServerStatusParams::METHOD,
    field: "serverName",
    since: (0, 160, 1),
};

/// `environmentId` on `mcpServerStatus/list` is new in 0.171.0.
const ENVIRONMENT_ID: FieldSince = FieldSince {
    method: ListMcpServerStatusParams::METHOD,
    field: "environmentId",
    since: (0, 171, 0),
};

/// codex's MCP servers, from [`Client::mcp`].
///
/// Every method is one call (or one per page); its errors are those of
/// [`Runtime::call`](codexrt_core::Runtime::call) as [`ClientError::Runtime`]
/// unless it says otherwise, and dropping its future abandons the call.
#[derive(Debug, Clone, Copy)]
pub struct Mcp<'a> {
    client: &'a Client,
}

impl<'a> Mcp<'a> {
    pub(crate) fn new(client: &'a Client) -> Self {
        Mcp { client }
    }

    /// One page of MCP servers with their status, tools and resources
    /// (`mcpServerStatus/list`); `params` pages, narrows to one server or
    /// thread, and chooses the detail
    /// (`ListMcpServerStatusParams::default()` for the first page of all).
    ///
    /// # Errors
    /// [`ClientError::FieldUnavailable`] when `server_name` is set and codex
    /// is older than 0.160.1, or `environment_id` and codex is older than
    /// 0.171.0 (older servers would ignore them and list every server;
    /// nothing is sent); [`ClientError::Runtime`] when the call fails.
    ///
    /// # Cancel safety
    /// As for [`Runtime::call`](codexrt_core::Runtime::call).
    pub async fn list(
        &self,
        params: ListMcpServerStatusParams,
    ) -> Result<ListMcpServerStatusResponse, ClientError> {
        let runtime = self.client.live_runtime().await?;
        let version = &runtime.server_info().version;
        SERVER_NAME.check(params.server_name.is_some(), version)?;
        ENVIRONMENT_ID.check(params.environment_id.is_some(), version)?;
        Ok(runtime.call(params).await?)
    }

    /// Every MCP server, following `nextCursor`, reading at most
    /// `max_pages` pages.
    ///
    /// # Errors
    /// As for [`list`](Mcp::list), and [`ClientError::TooManyPages`] when a
    /// page after the `max_pages`th remains.
    ///
    /// # Cancel safety
    /// Dropping it abandons the page being read; nothing is changed.
    pub async fn all(&self, max_pages: usize) -> Result<Vec<McpServerStatus>, ClientError> {
        let mut params = ListMcpServerStatusParams::default();
        let mut servers = Vec::new();
        for _ in 0..max_pages {
            let page = self.list(params.clone()).await?;
            servers.extend(page.data);
            match page.next_cursor {
                Some(cursor) => params.cursor = Some(cursor),
                None => return Ok(servers),
            }
        }
        Err(ClientError::TooManyPages {
            method: ListMcpServerStatusParams::METHOD,
            pages: max_pages,
        })
    }

    /// Has codex read its MCP servers' configuration from disk again
    /// (`config/mcpServer/reload`), after `mcp_servers` changed, for
    /// example through [`CodexConfig`](crate::CodexConfig).
    ///
    /// # Errors
    /// [`ClientError::Runtime`] when the call fails.
    ///
    /// # Cancel safety
    /// As for [`Runtime::call`](codexrt_core::Runtime::call).
    pub async fn reload(&self) -> Result<(), ClientError> {
        let runtime = self.client.live_runtime().await?;
        runtime.call(ConfigMcpServerReloadParams).await?;
        Ok(())
    }
}
