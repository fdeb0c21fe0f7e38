package ai.factory.api.admin;

import java.io.IOException;
import java.io.InputStream;

/**
 * What is left of an upload the server refused while the client was still sending it: read and dropped, up to a
 * limit, so that the client receives the answer instead of a connection closed under its upload; past the limit the
 * container closes the connection as before.
 */
final class RefusedBodies {
    private RefusedBodies() {}

    static void discardRest(InputStream body, long limit) {
        byte[] buffer = new byte[64 * 1024];
        long discarded = 0;
        try {
            for (int n; discarded < limit && (n = body.read(buffer)) != -1; ) {
                discarded += n;
            }
        } catch (IOException e) {
            // the client went away: nothing left to answer
        }
    }
}
