package ai.factory.security;

/** Seals short secrets the factory must read back (AWS secret access keys), each bound to a context such as its key id. */
public interface SecretSealer {
    /** Encrypts {@code secret}, bound to {@code context}. */
    String seal(String secret, String context);

    /** Decrypts what {@link #seal} made for the same context; fails if it was altered or sealed elsewhere. */
    String open(String sealed, String context);
}
