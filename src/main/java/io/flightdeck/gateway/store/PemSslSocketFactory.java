package io.flightdeck.gateway.store;

import io.flightdeck.gateway.config.PemTls;
import java.io.IOException;
import java.net.InetAddress;
import java.net.Socket;
import java.security.KeyStore;
import java.util.Properties;
import javax.net.ssl.KeyManager;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.TrustManager;
import javax.net.ssl.TrustManagerFactory;
import org.postgresql.ssl.NonValidatingFactory;
import org.postgresql.ssl.WrappedFactory;

/**
 * The JDBC driver's TLS for the start-up connections ({@code sslfactory} in their URL, see
 * {@link DatabaseBootstrap#jdbcUrl}), built from the PEM files of db.url by the parsing the pg client uses
 * ({@link PemTls}): the driver's own loader takes a client key as PKCS#8 DER or PKCS#12 only, not the PEM of libpq.
 * The driver instantiates it by name, with the connection's properties: {@code sslrootcert}, {@code sslcert},
 * {@code sslkey} and {@code sslmode}.
 *
 * <p>The server's certificate is checked during the handshake, its host name too under verify-full (HTTPS rules, as
 * the pg client checks it): a certificate the gateway refuses then fails the connection with a
 * {@link java.security.cert.CertificateException} as its cause, which start-up tells apart from a server that is not
 * up yet. The driver's own check of the name after the handshake still runs, and passes.
 */
public final class PemSslSocketFactory extends WrappedFactory {

  private final boolean verifyName;

  /** Called by the driver, with the connection's properties. */
  public PemSslSocketFactory(Properties info) throws Exception {
    String rootCert = info.getProperty("sslrootcert");
    String cert = info.getProperty("sslcert");
    SSLContext context = SSLContext.getInstance("TLS");
    context.init(cert == null ? null : keyManagers(cert, info.getProperty("sslkey")), trustManagers(rootCert), null);
    factory = context.getSocketFactory();
    verifyName = "verify-full".equals(info.getProperty("sslmode"));
  }

  private static KeyManager[] keyManagers(String cert, String key) throws Exception {
    KeyManagerFactory keys = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
    keys.init(PemTls.clientKeyStore(cert, key), PemTls.KEY_PASSWORD.toCharArray());
    return keys.getKeyManagers();
  }

  /** The CA file's certificates; without one (require and a client certificate), any, as the driver's require. */
  private static TrustManager[] trustManagers(String rootCert) throws Exception {
    if (rootCert == null) {
      return new TrustManager[] {new NonValidatingFactory.NonValidatingTM()};
    }
    TrustManagerFactory trust = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
    KeyStore cas = PemTls.trustStore(rootCert);
    trust.init(cas);
    return trust.getTrustManagers();
  }

  /** The driver layers TLS over its socket with this one; the others are here so that none skips the name check. */
  @Override
  public Socket createSocket(Socket socket, String host, int port, boolean autoClose) throws IOException {
    return checked(super.createSocket(socket, host, port, autoClose));
  }

  @Override
  public Socket createSocket(String host, int port) throws IOException {
    return checked(super.createSocket(host, port));
  }

  @Override
  public Socket createSocket(InetAddress host, int port) throws IOException {
    return checked(super.createSocket(host, port));
  }

  @Override
  public Socket createSocket(String host, int port, InetAddress localHost, int localPort) throws IOException {
    return checked(super.createSocket(host, port, localHost, localPort));
  }

  @Override
  public Socket createSocket(InetAddress host, int port, InetAddress localHost, int localPort) throws IOException {
    return checked(super.createSocket(host, port, localHost, localPort));
  }

  /** Under verify-full, the handshake checks that the certificate names the host the socket was opened for. */
  private Socket checked(Socket socket) {
    if (verifyName && socket instanceof SSLSocket tls) {
      SSLParameters parameters = tls.getSSLParameters();
      parameters.setEndpointIdentificationAlgorithm("HTTPS");
      tls.setSSLParameters(parameters);
    }
    return socket;
  }
}
