package ai.factory.storage;

import static java.util.Objects.requireNonNull;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.NonWritableChannelException;
import java.nio.channels.SeekableByteChannel;

/**
 * Tink's seekable decrypting channel with its failures named: a segment that does not authenticate is a
 * {@link BlobAuthenticationException} saying which blob and where, instead of Tink's bare "tag mismatch".
 */
final class DecryptingChannel implements SeekableByteChannel {
    private final SeekableByteChannel plaintext;
    private final String owner;
    private final String sha256;

    DecryptingChannel(SeekableByteChannel plaintext, String owner, String sha256) throws IOException {
        this.plaintext = requireNonNull(plaintext, "plaintext is null");
        this.owner = owner;
        this.sha256 = sha256;
        // Tink's keyset-level channel picks the key, and so knows the size, only at its first read: read one byte
        // now (authenticating the first segment, which later reads reuse) so that size() answers from the start.
        read(ByteBuffer.allocate(1));
        plaintext.position(0);
    }

    @Override
    public int read(ByteBuffer dst) throws IOException {
        long at = plaintext.position();
        try {
            return plaintext.read(dst);
        } catch (BlobAuthenticationException e) {
            throw e;
        } catch (IOException e) {
            throw new BlobAuthenticationException(("blob %s of %s fails authentication near plaintext offset %d: its "
                    + "file was altered, or it is not encrypted under this key (%s)").formatted(sha256, owner, at,
                    e.getMessage()), e);
        }
    }

    @Override
    public int write(ByteBuffer src) {
        throw new NonWritableChannelException();
    }

    @Override
    public long position() throws IOException {
        return plaintext.position();
    }

    @Override
    public SeekableByteChannel position(long newPosition) throws IOException {
        plaintext.position(newPosition);
        return this;
    }

    @Override
    public long size() throws IOException {
        return plaintext.size();
    }

    @Override
    public SeekableByteChannel truncate(long size) {
        throw new NonWritableChannelException();
    }

    @Override
    public boolean isOpen() {
        return plaintext.isOpen();
    }

    @Override
    public void close() throws IOException {
        plaintext.close();
    }
}
