package io.flightdeck.gateway.config;

import io.vertx.core.buffer.Buffer;
import io.vertx.core.net.PemKeyCertOptions;
import io.vertx.core.net.impl.KeyStoreHelper;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.Key;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.Signature;
import java.util.List;
import java.util.stream.Stream;

/**
 * The PEM files of db.url's TLS parameters ({@code sslrootcert}, {@code sslcert}, {@code sslkey}) read into key stores
 * by Vert.x's own PEM parsing, the one the pg client applies to the same files: the JDBC start-up connections (their
 * socket factory builds on this class) then take exactly the files the pools take, and the check when the
 * configuration is read refuses what either would fail on later.
 */
public final class PemTls {

  /** The password of the key stores answered here (Vert.x's own: the key only ever lives in memory). */
  public static final String KEY_PASSWORD = KeyStoreHelper.DUMMY_PASSWORD;

  /** A PEM certificate chain or key takes a few KiB: a bound keeps a wrong path (a log file) from being read whole. */
  private static final long MAX_FILE_BYTES = 1 << 20;

  /** The unencrypted key formats Vert.x reads: PKCS#8, PKCS#1 RSA and SEC1 EC. */
  private static final List<String> KEY_HEADERS = List.of("-----BEGIN PRIVATE KEY-----",
      "-----BEGIN RSA PRIVATE KEY-----", "-----BEGIN EC PRIVATE KEY-----");

  private static final byte[] CHALLENGE = "flightdeck: is this the certificate's key?".getBytes(StandardCharsets.UTF_8);

  private PemTls() {
  }

  /**
   * The client certificate (chain) of {@code certFile} with the private key of {@code keyFile}, as a key store whose
   * one entry has the password {@link #KEY_PASSWORD}. Checked as far as can be without a server: both files readable,
   * a certificate in the one and an unencrypted key in the other (the gateway has no one to ask for a passphrase), and
   * the key the certificate's (else the server would refuse the handshake, with a reason far less clear).
   *
   * @throws IllegalArgumentException one line saying what is wrong, naming the URL parameter and its file
   */
  public static KeyStore clientKeyStore(String certFile, String keyFile) {
    byte[] cert = read("sslcert", certFile);
    byte[] key = read("sslkey", keyFile);
    String certText = new String(cert, StandardCharsets.ISO_8859_1);
    String keyText = new String(key, StandardCharsets.ISO_8859_1);
    if (!certText.contains("-----BEGIN CERTIFICATE-----")) {
      throw new IllegalArgumentException("sslcert " + certFile + " holds no certificate (no "
          + "-----BEGIN CERTIFICATE----- line)");
    }
    if (keyText.contains("-----BEGIN ENCRYPTED PRIVATE KEY-----") || keyText.contains("Proc-Type: 4,ENCRYPTED")) {
      throw new IllegalArgumentException("sslkey " + keyFile + " is encrypted, and the gateway has no passphrase to "
          + "give: decrypt it (openssl pkey -in <encrypted> -out <file>) into a file only the gateway's user may read");
    }
    if (KEY_HEADERS.stream().noneMatch(keyText::contains)) {
      throw new IllegalArgumentException("sslkey " + keyFile + " holds no private key (no -----BEGIN PRIVATE KEY-----, "
          + "RSA PRIVATE KEY or EC PRIVATE KEY line)");
    }
    KeyStore store;
    try {
      store = new PemKeyCertOptions().setCertValue(Buffer.buffer(cert)).setKeyValue(Buffer.buffer(key))
          .loadKeyStore(null);
    } catch (Exception e) {
      if (String.valueOf(e.getMessage()).contains("does not match")) {
        throw mismatch(certFile, keyFile, e.getMessage());
      }
      throw new IllegalArgumentException("sslcert " + certFile + " and sslkey " + keyFile + " cannot be read as PEM "
          + "(" + e.getMessage() + ")", e);
    }
    checkPair(store, certFile, keyFile);
    return store;
  }

  /**
   * The CA certificates of {@code caFile} as a trust store, parsed as the pg client parses its PemTrustOptions' files
   * (DbConfig has checked at load that the file holds a certificate).
   */
  public static KeyStore trustStore(String caFile) throws Exception {
    return KeyStoreHelper.loadCA(Stream.of(Buffer.buffer(read("sslrootcert", caFile))));
  }

  /**
   * Signs with the key and verifies with the certificate's public key: Vert.x checks only that their algorithms agree,
   * and an RSA key of another certificate loads without a word.
   */
  private static void checkPair(KeyStore store, String certFile, String keyFile) {
    try {
      String alias = store.aliases().nextElement();
      Key key = store.getKey(alias, KEY_PASSWORD.toCharArray());
      PublicKey certified = store.getCertificate(alias).getPublicKey();
      Signature signer = Signature.getInstance(signatureAlgorithm(key));
      signer.initSign((PrivateKey) key);
      signer.update(CHALLENGE);
      byte[] signature = signer.sign();
      signer.initVerify(certified);
      signer.update(CHALLENGE);
      if (!signer.verify(signature)) {
        throw mismatch(certFile, keyFile, "a signature by the key does not verify with the certificate");
      }
    } catch (GeneralSecurityException | ClassCastException e) {
      throw mismatch(certFile, keyFile, e.getMessage());
    }
  }

  private static String signatureAlgorithm(Key key) {
    return switch (key.getAlgorithm()) {
      case "RSA" -> "SHA256withRSA";
      case "EC" -> "SHA256withECDSA";
      default -> key.getAlgorithm(); // Ed25519, Ed448: the key's name is the signature's
    };
  }

  private static IllegalArgumentException mismatch(String certFile, String keyFile, String why) {
    return new IllegalArgumentException("sslkey " + keyFile + " does not match the certificate of sslcert " + certFile
        + " (" + why + ")");
  }

  /** The bytes of {@code file}, the value of URL parameter {@code parameter}. */
  private static byte[] read(String parameter, String file) {
    Path path = Path.of(file);
    if (!Files.isRegularFile(path) || !Files.isReadable(path)) {
      throw new IllegalArgumentException(parameter + " " + file + " is not a readable file");
    }
    try {
      if (Files.size(path) > MAX_FILE_BYTES) {
        throw new IllegalArgumentException(parameter + " " + file + " is larger than 1 MiB: no PEM file of a key or "
            + "certificates is");
      }
      return Files.readAllBytes(path);
    } catch (IOException e) {
      throw new IllegalArgumentException(parameter + " " + file + " cannot be read (" + e.getMessage() + ")", e);
    }
  }
}
