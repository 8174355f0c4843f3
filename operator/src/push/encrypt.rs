//! RFC 8291 message encryption for Web Push: the `aes128gcm` content coding (RFC 8188) with
//! the keys agreed between an ephemeral application-server key and the browser's `p256dh` key,
//! mixed with the browser's 16-byte authentication secret.
//!
//! One record only (push services take at most 4096 bytes), padded with the single `0x02`
//! delimiter that marks the last record.

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes128Gcm, Nonce};
use hkdf::Hkdf;
use p256::elliptic_curve::Generate;
use p256::elliptic_curve::sec1::ToSec1Point;
use p256::{PublicKey, SecretKey};
use sha2::Sha256;

/// The record size written in the header: the most a push service accepts for a whole message.
pub const RECORD_SIZE: u32 = 4096;

/// Bytes of the `aes128gcm` header: salt (16), record size (4), key id length (1), key id (65).
pub const HEADER_LEN: usize = 16 + 4 + 1 + 65;

/// AES-GCM's authentication tag.
const TAG_LEN: usize = 16;

/// The longest plaintext that fits in one record with its delimiter: 3993 bytes.
pub const MAX_PLAINTEXT: usize = RECORD_SIZE as usize - HEADER_LEN - TAG_LEN - 1;

/// Why a message could not be encrypted.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum EncryptError {
    /// The subscription's `p256dh` is not an uncompressed P-256 point.
    #[error("the subscription's p256dh key is not an uncompressed P-256 public key")]
    BadPublicKey,
    /// The subscription's `auth` is not 16 bytes.
    #[error("the subscription's auth secret is not 16 bytes")]
    BadAuthSecret,
    /// The plaintext does not fit in one record.
    #[error("the message is {len} bytes; at most {MAX_PLAINTEXT} fit in one push message")]
    TooLarge {
        /// The plaintext's length.
        len: usize,
    },
    /// The operating system's random number generator failed.
    #[error("no randomness from the operating system")]
    Random,
    /// The cipher refused (cannot happen with valid key and nonce lengths).
    #[error("AES-GCM encryption failed")]
    Cipher,
}

/// Encrypts `plaintext` for the browser whose subscription keys are `ua_public` (the 65-byte
/// uncompressed `p256dh` point) and `auth` (16 bytes), with a fresh ephemeral key and salt.
/// Returns the whole request body: header, then the one record.
pub fn encrypt(plaintext: &[u8], ua_public: &[u8], auth: &[u8]) -> Result<Vec<u8>, EncryptError> {
    let ephemeral = SecretKey::try_generate().map_err(|_| EncryptError::Random)?;
    let salt = <[u8; 16]>::try_generate().map_err(|_| EncryptError::Random)?;
    encrypt_with(plaintext, ua_public, auth, &ephemeral, &salt)
}

/// [`encrypt`] with a given application-server key and salt (for known-answer tests; never
/// reuse either in real messages).
pub fn encrypt_with(
    plaintext: &[u8],
    ua_public: &[u8],
    auth: &[u8],
    as_secret: &SecretKey,
    salt: &[u8; 16],
) -> Result<Vec<u8>, EncryptError> {
    if plaintext.len() > MAX_PLAINTEXT {
        return Err(EncryptError::TooLarge { len: plaintext.len() });
    }
    if ua_public.len() != 65 || ua_public[0] != 0x04 {
        return Err(EncryptError::BadPublicKey);
    }
    let ua_key = PublicKey::from_sec1_bytes(ua_public).map_err(|_| EncryptError::BadPublicKey)?;
    if auth.len() != 16 {
        return Err(EncryptError::BadAuthSecret);
    }
    let as_public = as_secret.public_key().to_sec1_point(false);
    let as_public = as_public.as_bytes();

    // RFC 8291 §3.3–3.4: IKM from the ECDH secret and the auth secret, bound to both keys.
    let shared = as_secret.diffie_hellman(&ua_key);
    let mut key_info = Vec::with_capacity(14 + 65 + 65);
    key_info.extend_from_slice(b"WebPush: info\0");
    key_info.extend_from_slice(ua_public);
    key_info.extend_from_slice(as_public);
    let mut ikm = [0u8; 32];
    Hkdf::<Sha256>::new(Some(auth), shared.raw_secret_bytes().as_slice())
        .expand(&key_info, &mut ikm)
        .map_err(|_| EncryptError::Cipher)?;

    // RFC 8188 §2.2–2.3: the content-encryption key and the nonce from the salt.
    let hkdf = Hkdf::<Sha256>::new(Some(salt), &ikm);
    let mut cek = [0u8; 16];
    let mut nonce = [0u8; 12];
    hkdf.expand(b"Content-Encoding: aes128gcm\0", &mut cek).map_err(|_| EncryptError::Cipher)?;
    hkdf.expand(b"Content-Encoding: nonce\0", &mut nonce).map_err(|_| EncryptError::Cipher)?;

    // One record (sequence number 0: the nonce as derived), ending with the last-record
    // delimiter and no further padding.
    let mut record = Vec::with_capacity(plaintext.len() + 1);
    record.extend_from_slice(plaintext);
    record.push(0x02);
    let cipher = Aes128Gcm::new_from_slice(&cek).map_err(|_| EncryptError::Cipher)?;
    let nonce = Nonce::try_from(&nonce[..]).map_err(|_| EncryptError::Cipher)?;
    let sealed = cipher.encrypt(&nonce, Payload { msg: &record, aad: b"" }).map_err(|_| EncryptError::Cipher)?;

    let mut body = Vec::with_capacity(HEADER_LEN + sealed.len());
    body.extend_from_slice(salt);
    body.extend_from_slice(&RECORD_SIZE.to_be_bytes());
    body.push(65);
    body.extend_from_slice(as_public);
    body.extend_from_slice(&sealed);
    Ok(body)
}

#[cfg(test)]
mod tests {
    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;

    use super::*;

    fn b64(text: &str) -> Vec<u8> {
        URL_SAFE_NO_PAD.decode(text).expect("base64url")
    }

    /// RFC 8291 Appendix A: the same keys and salt give the RFC's message, byte for byte.
    #[test]
    fn rfc_8291_example() {
        let as_secret = SecretKey::from_slice(&b64("yfWPiYE-n46HLnH0KqZOF1fJJU3MYrct3AELtAQ-oRw")).expect("key");
        let ua_public = b64("BCVxsr7N_eNgVRqvHtD0zTZsEc6-VV-JvLexhqUzORcxaOzi6-AYWXvTBHm4bjyPjs7Vd8pZGH6SRpkNtoIAiw4");
        let auth = b64("BTBZMqHH6r4Tts7J_aSIgg");
        let salt: [u8; 16] = b64("DGv6ra1nlYgDCS1FRnbzlw").try_into().expect("16 bytes");
        let body = encrypt_with(b"When I grow up, I want to be a watermelon", &ua_public, &auth, &as_secret, &salt)
            .expect("encrypts");
        let want = b64(concat!(
            "DGv6ra1nlYgDCS1FRnbzlwAAEABBBP4z9KsN6nGRTbVYI_c7VJSPQTBtkgcy27ml",
            "mlMoZIIgDll6e3vCYLocInmYWAmS6TlzAC8wEqKK6PBru3jl7A_yl95bQpu6cVPT",
            "pK4Mqgkf1CXztLVBSt2Ks3oZwbuwXPXLWyouBWLVWGNWQexSgSxsj_Qulcy4a-fN",
        ));
        assert_eq!(URL_SAFE_NO_PAD.encode(&body), URL_SAFE_NO_PAD.encode(&want));
    }

    #[test]
    fn fresh_keys_and_salt_for_every_message() {
        let ua = SecretKey::generate().public_key().to_sec1_point(false).as_bytes().to_vec();
        let a = encrypt(b"same", &ua, &[7; 16]).expect("encrypts");
        let b = encrypt(b"same", &ua, &[7; 16]).expect("encrypts");
        assert_eq!(a.len(), HEADER_LEN + 4 + 1 + TAG_LEN);
        assert_ne!(a[..16], b[..16], "salt");
        assert_ne!(a[21..86], b[21..86], "ephemeral key");
        assert_eq!(a[16..21], [0, 0, 0x10, 0, 65]);
    }

    #[test]
    fn bad_keys_and_oversized_messages_are_refused() {
        let ua = SecretKey::generate().public_key().to_sec1_point(false).as_bytes().to_vec();
        let compressed = SecretKey::generate().public_key().to_sec1_point(true).as_bytes().to_vec();
        let mut off_curve = ua.clone();
        off_curve[64] ^= 1;
        for bad in [&compressed[..], &off_curve[..], &[4u8; 65][..], &[][..]] {
            assert_eq!(encrypt(b"x", bad, &[0; 16]), Err(EncryptError::BadPublicKey));
        }
        assert_eq!(encrypt(b"x", &ua, &[0; 15]), Err(EncryptError::BadAuthSecret));
        assert!(encrypt(&vec![b'a'; MAX_PLAINTEXT], &ua, &[0; 16]).is_ok_and(|b| b.len() == RECORD_SIZE as usize));
        assert_eq!(
            encrypt(&vec![b'a'; MAX_PLAINTEXT + 1], &ua, &[0; 16]),
            Err(EncryptError::TooLarge { len: MAX_PLAINTEXT + 1 })
        );
    }
}
