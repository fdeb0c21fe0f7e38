package ai.factory.storage;

import ai.factory.ErrorCode;
import ai.factory.FactoryException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.List;

/**
 * The factory's home ({@code $FACTORY_HOME}) kept to its owner: it holds the database, the encrypted blobs, the
 * keystore and its password, the audit signing key and the admin key, so no other local user may read or list any
 * of it. A new home and its folders are created {@code 0700}, files {@code 0600}; a home found wider (made
 * beforehand with a umask of 022, say) is narrowed at start with a warning naming what was wider, and a home that
 * cannot be narrowed (another user's, a read-only file system) is refused with the reason.
 */
public final class FactoryHome {
    private static final Logger LOG = LoggerFactory.getLogger(FactoryHome.class);
    /** How many of the narrowed paths a warning names before it only counts the rest. */
    private static final int NAMED = 5;

    private FactoryHome() {}

    /**
     * Creates the home owner-only, or narrows the one there and everything under it.
     *
     * @return what was narrowed, as {@code path (mode it had)}; empty for a new home or one that was private already
     * @throws FactoryException INVALID_REQUEST when it is not a folder, or cannot be created or narrowed
     */
    public static List<String> secure(Path home) {
        Path dir = home.toAbsolutePath().normalize();
        if (Files.exists(dir, LinkOption.NOFOLLOW_LINKS)) {
            if (!Files.isDirectory(dir)) {
                throw new FactoryException(ErrorCode.INVALID_REQUEST, "the factory home " + dir + " is not a folder");
            }
            List<String> narrowed;
            try {
                narrowed = PrivateFiles.narrow(dir);
            } catch (IOException e) {
                throw new FactoryException(ErrorCode.INVALID_REQUEST, "the factory home " + dir + " is open to other "
                        + "users and cannot be narrowed to its owner (" + e + "); run 'chmod -R go= " + dir
                        + "' as its owner, or start with a home of your own", e);
            }
            if (!narrowed.isEmpty()) {
                LOG.warn("the factory home {} was open to other local users; narrowed {} folder(s) and file(s) to "
                        + "their owner only: {}{}", dir, narrowed.size(),
                        String.join(", ", narrowed.subList(0, Math.min(NAMED, narrowed.size()))),
                        narrowed.size() > NAMED ? " and " + (narrowed.size() - NAMED) + " more" : "");
            }
            return narrowed;
        }
        try {
            PrivateFiles.createDirectories(dir);
        } catch (IOException e) {
            throw new FactoryException(ErrorCode.INVALID_REQUEST, "cannot create the factory home " + dir + ": " + e, e);
        }
        return List.of();
    }
}
