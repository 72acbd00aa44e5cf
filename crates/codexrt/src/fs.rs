//! [`Fs`]: files on codex's machine, read and written through codex
//! (`fs/*`), for a client that does not share its filesystem (a remote
//! app-server over a WebSocket).
//!
//! ```no_run
//! use codexrt::Client;
//!
//! # async fn demo(client: &Client) -> Result<(), codexrt::ClientError> {
//! let fs = client.fs();
//! fs.create_directory_all("/srv/notes").await?;
//! fs.write_file("/srv/notes/todo.txt", b"write the docs\n").await?;
//! assert_eq!(fs.read_file("/srv/notes/todo.txt").await?, b"write the docs\n");
//! for entry in fs.read_directory("/srv/notes").await? {
//!     println!("{} (directory: {})", entry.file_name, entry.is_directory);
//! }
//! # Ok(())
//! # }
//! ```

use std::path::Path;

use codexrt_protocol::ClientRequest;
use codexrt_protocol::types::{
    FsCopyParams, FsCreateDirectoryParams, FsGetMetadataParams, FsGetMetadataResponse,
    FsReadDirectoryEntry, FsReadDirectoryParams, FsReadFileParams, FsRemoveParams,
    FsWriteFileParams,
};
use data_encoding::BASE64;

use crate::args::absolute_path;
use crate::{Client, ClientError};

/// Files on codex's machine, from [`Client::fs`].
///
/// Paths are codex's: absolute, on the machine codex runs on, and UTF-8; a
/// relative or empty path is refused with [`ClientError::InvalidPath`]
/// before anything is sent. codex does these operations itself, with the
/// rights of its process: no sandbox and no approval apply, so a client
/// that can call them can read and write whatever codex's user can.
///
/// Every method is one call; its errors are those of
/// [`Runtime::call`](codexrt_core::Runtime::call) as [`ClientError::Runtime`]
/// (codex's own refusals, such as a missing file, come as
/// [`CoreError::Peer`](codexrt_core::CoreError::Peer)) unless it says
/// otherwise, and dropping its future abandons the call (the server may
/// have acted).
#[derive(Debug, Clone, Copy)]
pub struct Fs<'a> {
    client: &'a Client,
}

impl<'a> Fs<'a> {
    pub(crate) fn new(client: &'a Client) -> Self {
        Fs { client }
    }

    /// The bytes of a file (`fs/readFile`).
    ///
    /// # Errors
    /// [`ClientError::InvalidPath`] (nothing is sent),
    /// [`ClientError::Runtime`] when the call fails, or when codex's answer
    /// is not base64 (a decode error).
    ///
    /// # Cancel safety
    /// As for [`Runtime::call`](codexrt_core::Runtime::call).
    pub async fn read_file(&self, path: impl AsRef<Path>) -> Result<Vec<u8>, ClientError> {
        let path = absolute_path(FsReadFileParams::METHOD, path.as_ref())?;
        let runtime = self.client.live_runtime().await?;
        let answer = runtime.call(FsReadFileParams { path }).await?;
        BASE64
            .decode(answer.data_base64.as_bytes())
            .map_err(|_| ClientError::UndecodableBase64 {
                method: FsReadFileParams::METHOD,
            })
    }

    /// Writes `data` to a file (`fs/writeFile`), creating it or replacing
    /// its content.
    ///
    /// # Errors
    /// [`ClientError::InvalidPath`] (nothing is sent),
    /// [`ClientError::Runtime`] when the call fails.
    ///
    /// # Cancel safety
    /// As for [`Runtime::call`](codexrt_core::Runtime::call).
    pub async fn write_file(
        &self,
        path: impl AsRef<Path>,
        data: impl AsRef<[u8]>,
    ) -> Result<(), ClientError> {
        let path = absolute_path(FsWriteFileParams::METHOD, path.as_ref())?;
        let params = FsWriteFileParams {
            data_base64: BASE64.encode(data.as_ref()),
            path,
        };
        self.client.live_runtime().await?.call(params).await?;
        Ok(())
    }

    /// The entries of a directory (`fs/readDirectory`), in codex's order.
    ///
    /// # Errors
    /// [`ClientError::InvalidPath`] (nothing is sent),
    /// [`ClientError::Runtime`] when the call fails.
    ///
    /// # Cancel safety
    /// As for [`Runtime::call`](codexrt_core::Runtime::call).
    pub async fn read_directory(
        &self,
        path: impl AsRef<Path>,
    ) -> Result<Vec<FsReadDirectoryEntry>, ClientError> {
        let path = absolute_path(FsReadDirectoryParams::METHOD, path.as_ref())?;
        let runtime = self.client.live_runtime().await?;
        Ok(runtime.call(FsReadDirectoryParams { path }).await?.entries)
    }

    /// What a path is, and its times (`fs/getMetadata`).
    ///
    /// # Errors
    /// [`ClientError::InvalidPath`] (nothing is sent),
    /// [`ClientError::Runtime`] when the call fails.
    ///
    /// # Cancel safety
    /// As for [`Runtime::call`](codexrt_core::Runtime::call).
    pub async fn metadata(
        &self,
        path: impl AsRef<Path>,
    ) -> Result<FsGetMetadataResponse, ClientError> {
        let path = absolute_path(FsGetMetadataParams::METHOD, path.as_ref())?;
        let runtime = self.client.live_runtime().await?;
        Ok(runtime.call(FsGetMetadataParams { path }).await?)
    }

    /// Creates a directory (`fs/createDirectory`) whose parent exists.
    ///
    /// # Errors
    /// [`ClientError::InvalidPath`] (nothing is sent),
    /// [`ClientError::Runtime`] when the call fails.
    ///
    /// # Cancel safety
    /// As for [`Runtime::call`](codexrt_core::Runtime::call).
    pub async fn create_directory(&self, path: impl AsRef<Path>) -> Result<(), ClientError> {
        self.create(path.as_ref(), false).await
    }

    /// Creates a directory and its missing parents (`fs/createDirectory`
    /// with `recursive`).
    ///
    /// # Errors
    /// As for [`create_directory`](Fs::create_directory).
    ///
    /// # Cancel safety
    /// As for [`Runtime::call`](codexrt_core::Runtime::call).
    pub async fn create_directory_all(&self, path: impl AsRef<Path>) -> Result<(), ClientError> {
        self.create(path.as_ref(), true).await
    }

    async fn create(&self, path: &Path, recursive: bool) -> Result<(), ClientError> {
        let path = absolute_path(FsCreateDirectoryParams::METHOD, path)?;
        let params = FsCreateDirectoryParams {
            path,
            recursive: Some(recursive),
        };
        self.client.live_runtime().await?.call(params).await?;
        Ok(())
    }

    /// Removes a file, or an empty directory (`fs/remove`).
    ///
    /// # Errors
    /// [`ClientError::InvalidPath`] (nothing is sent),
    /// [`ClientError::Runtime`] when the call fails (a missing path, a
    /// directory that is not empty).
    ///
    /// # Cancel safety
    /// As for [`Runtime::call`](codexrt_core::Runtime::call).
    pub async fn remove(&self, path: impl AsRef<Path>) -> Result<(), ClientError> {
        self.delete(path.as_ref(), false).await
    }

    /// Removes a file, or a directory with everything in it (`fs/remove`
    /// with `recursive`).
    ///
    /// # Errors
    /// As for [`remove`](Fs::remove).
    ///
    /// # Cancel safety
    /// As for [`Runtime::call`](codexrt_core::Runtime::call).
    pub async fn remove_all(&self, path: impl AsRef<Path>) -> Result<(), ClientError> {
        self.delete(path.as_ref(), true).await
    }

    async fn delete(&self, path: &Path, recursive: bool) -> Result<(), ClientError> {
        let path = absolute_path(FsRemoveParams::METHOD, path)?;
        let params = FsRemoveParams {
            force: Some(false),
            path,
            recursive: Some(recursive),
        };
        self.client.live_runtime().await?.call(params).await?;
        Ok(())
    }

    /// Copies a file (`fs/copy`).
    ///
    /// # Errors
    /// [`ClientError::InvalidPath`] for either path (nothing is sent),
    /// [`ClientError::Runtime`] when the call fails.
    ///
    /// # Cancel safety
    /// As for [`Runtime::call`](codexrt_core::Runtime::call).
    pub async fn copy(
        &self,
        source: impl AsRef<Path>,
        destination: impl AsRef<Path>,
    ) -> Result<(), ClientError> {
        self.duplicate(source.as_ref(), destination.as_ref(), false)
            .await
    }

    /// Copies a file, or a directory with everything in it (`fs/copy`
    /// with `recursive`).
    ///
    /// # Errors
    /// As for [`copy`](Fs::copy).
    ///
    /// # Cancel safety
    /// As for [`Runtime::call`](codexrt_core::Runtime::call).
    pub async fn copy_all(
        &self,
        source: impl AsRef<Path>,
        destination: impl AsRef<Path>,
    ) -> Result<(), ClientError> {
        self.duplicate(source.as_ref(), destination.as_ref(), true)
            .await
    }

    async fn duplicate(
        &self,
        source: &Path,
        destination: &Path,
        recursive: bool,
    ) -> Result<(), ClientError> {
        let params = FsCopyParams {
            source_path: absolute_path(FsCopyParams::METHOD, source)?,
            destination_path: absolute_path(FsCopyParams::METHOD, destination)?,
            recursive: Some(recursive),
        };
        self.client.live_runtime().await?.call(params).await?;
        Ok(())
    }
}
