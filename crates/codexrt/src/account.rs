//! [`Account`]: who codex works as: the account it uses, logging in with an
//! API key or through ChatGPT, logging out, and the rate limits.
//!
//! ```no_run
//! use codexrt::Client;
//! use codexrt::protocol::types::Account as Login;
//!
//! # async fn demo(client: &Client) -> Result<(), codexrt::ClientError> {
//! let state = client.account().read().await?;
//! match state.account {
//!     Some(Login::ApiKey) => println!("an API key"),
//!     Some(Login::Chatgpt { email, .. }) => println!("ChatGPT as {email:?}"),
//!     Some(_) => println!("another kind of account"),
//!     None => println!("logged out (OpenAI auth required: {})", state.requires_openai_auth),
//! }
//! let login = client.account().login_chatgpt().await?;
//! println!("open {} to log in", login.auth_url);
//! # Ok(())
//! # }
//! ```

use codexrt_protocol::ClientRequest;
use codexrt_protocol::types::{
    AccountLogoutParams, CancelLoginAccountParams, CancelLoginAccountStatus, GetAccountParams,
    GetAccountRateLimitsParams, GetAccountRateLimitsResponse, GetAccountResponse,
    LoginAccountParams, LoginAccountResponse,
};

use crate::args::not_blank;
use crate::{Client, ClientError};

/// The account codex works as, from [`Client::account`].
///
/// Every method is one call; its errors are those of
/// [`Runtime::call`](codexrt_core::Runtime::call) as [`ClientError::Runtime`]
/// unless it says otherwise, and dropping its future abandons the call (the
/// server may have acted). codex keeps the account in its home
/// (`CODEX_HOME`): a login or logout is for every client of that home.
#[derive(Debug, Clone, Copy)]
pub struct Account<'a> {
    client: &'a Client,
}

/// A ChatGPT login in progress, from [`Account::login_chatgpt`]: the user
/// opens [`auth_url`](ChatgptLogin::auth_url) in a browser; codex reports
/// the end with an `account/login/completed` notification.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ChatgptLogin {
    /// The login, for [`Account::cancel_login`].
    pub login_id: String,
    /// The page that logs the user in.
    pub auth_url: String,
}

/// A ChatGPT device-code login in progress, from
/// [`Account::login_chatgpt_device_code`]: the user opens
/// [`verification_url`](DeviceCodeLogin::verification_url) on any device and
/// enters [`user_code`](DeviceCodeLogin::user_code); codex reports the end
/// with an `account/login/completed` notification.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct DeviceCodeLogin {
    /// The login, for [`Account::cancel_login`].
    pub login_id: String,
    /// The code the user enters.
    pub user_code: String,
    /// The page where the user enters it.
    pub verification_url: String,
}

impl<'a> Account<'a> {
    pub(crate) fn new(client: &'a Client) -> Self {
        Account { client }
    }

    /// The account codex uses now (`account/read`): `account` is `None`
    /// when it has none, and `requires_openai_auth` says whether its model
    /// provider needs one.
    ///
    /// # Errors
    /// [`ClientError::Runtime`] when the call fails.
    ///
    /// # Cancel safety
    /// As for [`Runtime::call`](codexrt_core::Runtime::call).
    pub async fn read(&self) -> Result<GetAccountResponse, ClientError> {
        let runtime = self.client.live_runtime().await?;
        Ok(runtime.call(GetAccountParams::default()).await?)
    }

    /// Logs in with an OpenAI API key (`account/login/start`, type
    /// `apiKey`); codex stores it in its home.
    ///
    /// # Errors
    /// [`ClientError::InvalidArgument`] for a blank key (nothing is sent),
    /// [`ClientError::Runtime`] when the call fails.
    ///
    /// # Cancel safety
    /// As for [`Runtime::call`](codexrt_core::Runtime::call).
    pub async fn login_api_key(&self, api_key: impl Into<String>) -> Result<(), ClientError> {
        let api_key = not_blank(LoginAccountParams::METHOD, "apiKey", api_key.into())?;
        self.login(LoginAccountParams::ApiKey { api_key }).await?;
        Ok(())
    }

    /// Starts a ChatGPT login in the browser (`account/login/start`, type
    /// `chatgpt`, codex's defaults for the rest).
    ///
    /// # Errors
    /// [`ClientError::Runtime`] when the call fails,
    /// [`ClientError::UnexpectedLogin`] when codex started another kind of
    /// login.
    ///
    /// # Cancel safety
    /// As for [`Runtime::call`](codexrt_core::Runtime::call): the login may
    /// have started.
    pub async fn login_chatgpt(&self) -> Result<ChatgptLogin, ClientError> {
        let params = LoginAccountParams::Chatgpt {
            app_brand: None,
            codex_streamlined_login: None,
            use_hosted_login_success_page: None,
        };
        match self.login(params).await? {
            LoginAccountResponse::Chatgpt { auth_url, login_id } => {
                Ok(ChatgptLogin { login_id, auth_url })
            }
            other => Err(unexpected_login("chatgpt", &other)),
        }
    }

    /// Starts a ChatGPT login with a device code (`account/login/start`,
    /// type `chatgptDeviceCode`), for a user who logs in on another device.
    ///
    /// # Errors
    /// As for [`login_chatgpt`](Account::login_chatgpt).
    ///
    /// # Cancel safety
    /// As for [`login_chatgpt`](Account::login_chatgpt).
    pub async fn login_chatgpt_device_code(&self) -> Result<DeviceCodeLogin, ClientError> {
        match self.login(LoginAccountParams::ChatgptDeviceCode).await? {
            LoginAccountResponse::ChatgptDeviceCode {
                login_id,
                user_code,
                verification_url,
            } => Ok(DeviceCodeLogin {
                login_id,
                user_code,
                verification_url,
            }),
            other => Err(unexpected_login("chatgptDeviceCode", &other)),
        }
    }

    /// Any kind of login (`account/login/start`), as the protocol spells
    /// it: externally managed ChatGPT tokens, Amazon Bedrock, and what a
    /// newer codex adds.
    ///
    /// # Errors
    /// [`ClientError::Runtime`] when the call fails.
    ///
    /// # Cancel safety
    /// As for [`Runtime::call`](codexrt_core::Runtime::call).
    pub async fn login(
        &self,
        params: LoginAccountParams,
    ) -> Result<LoginAccountResponse, ClientError> {
        Ok(self.client.live_runtime().await?.call(params).await?)
    }

    /// Cancels a login in progress (`account/login/cancel`); the status
    /// says whether there was one to cancel.
    ///
    /// # Errors
    /// [`ClientError::InvalidArgument`] for a blank id (nothing is sent),
    /// [`ClientError::Runtime`] when the call fails.
    ///
    /// # Cancel safety
    /// As for [`Runtime::call`](codexrt_core::Runtime::call).
    pub async fn cancel_login(
        &self,
        login_id: impl Into<String>,
    ) -> Result<CancelLoginAccountStatus, ClientError> {
        let login_id = not_blank(CancelLoginAccountParams::METHOD, "loginId", login_id.into())?;
        let params = CancelLoginAccountParams { login_id };
        Ok(self.client.live_runtime().await?.call(params).await?.status)
    }

    /// Logs out (`account/logout`): codex forgets the stored credentials.
    ///
    /// # Errors
    /// [`ClientError::Runtime`] when the call fails.
    ///
    /// # Cancel safety
    /// As for [`Runtime::call`](codexrt_core::Runtime::call).
    pub async fn logout(&self) -> Result<(), ClientError> {
        let runtime = self.client.live_runtime().await?;
        runtime.call(AccountLogoutParams).await?;
        Ok(())
    }

    /// The account's rate limits (`account/rateLimits/read`), as codex's
    /// backend reports them for a ChatGPT login.
    ///
    /// # Errors
    /// [`ClientError::Runtime`] when the call fails; without a codex
    /// account login, codex refuses it
    /// ([`CoreError::Peer`](codexrt_core::CoreError::Peer)).
    ///
    /// # Cancel safety
    /// As for [`Runtime::call`](codexrt_core::Runtime::call).
    pub async fn rate_limits(&self) -> Result<GetAccountRateLimitsResponse, ClientError> {
        let runtime = self.client.live_runtime().await?;
        Ok(runtime.call(GetAccountRateLimitsParams::default()).await?)
    }
}

/// codex answered a login of one kind with another.
fn unexpected_login(requested: &'static str, answer: &LoginAccountResponse) -> ClientError {
    let answered = serde_json::to_value(answer)
        .ok()
        .and_then(|value| value.get("type")?.as_str().map(str::to_owned))
        .unwrap_or_default();
    ClientError::UnexpectedLogin {
        requested,
        answered,
    }
}
