package ai.factory.storage;

import ai.factory.FactoryException;
import java.util.regex.Pattern;

/**
 * Whose keys a blob is encrypted under: a project's name, or {@link #SITE} for what belongs to the site itself (the
 * bundled models). Owners are folder names in the blob store, so only names that can't climb out of it are accepted.
 */
public final class BlobOwner {
    /** The site's own keys; not a valid project name, so no project can claim it. */
    public static final String SITE = "_site";

    private static final Pattern OWNER = Pattern.compile("_site|[a-z0-9][a-z0-9-]{0,62}");

    private BlobOwner() {}

    public static boolean isValid(String owner) {
        return owner != null && OWNER.matcher(owner).matches();
    }

    public static String require(String owner) {
        if (!isValid(owner)) {
            throw FactoryException.invalidParam("project", "invalid key owner '" + owner
                    + "': a project name (lowercase letters, digits, -) or " + SITE);
        }
        return owner;
    }
}
