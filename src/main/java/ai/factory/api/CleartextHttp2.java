package ai.factory.api;

import org.eclipse.jetty.http.HttpFields;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.http.MetaData;
import org.eclipse.jetty.http2.ErrorCode;
import org.eclipse.jetty.http2.api.Session;
import org.eclipse.jetty.http2.api.Stream;
import org.eclipse.jetty.http2.api.server.ServerSessionListener;
import org.eclipse.jetty.http2.frames.ResetFrame;
import org.eclipse.jetty.http2.server.HTTP2CServerConnectionFactory;
import org.eclipse.jetty.io.Connection;
import org.eclipse.jetty.io.EndPoint;
import org.eclipse.jetty.server.Connector;
import org.eclipse.jetty.server.HttpConfiguration;
import org.eclipse.jetty.util.Callback;
import org.jspecify.annotations.Nullable;

/**
 * Cleartext HTTP/2 (prior knowledge or {@code Upgrade: h2c}) that ends a client's responses when the client closes
 * its side of the connection.
 *
 * <p>A client that said GOAWAY and then shut its output (Node's {@code http2}, and so the AWS SDK for JavaScript,
 * does this when an event stream is aborted) can send nothing more, not even the WINDOW_UPDATE frames a response
 * waits for once it has filled the flow-control window. Jetty lets such responses run on after the GOAWAY, as
 * HTTP/2 allows, so a handler stays blocked on its write, and its generation holds an engine slot, until the idle
 * timeout. Here the end of the input resets every stream still open, as that timeout would: the write fails, the
 * handler sees the client gone and the generation is cancelled at once.
 *
 * <p>An {@code Upgrade: h2c} request with a chunked body stays HTTP/1.1. Jetty declines the upgrade for a body of
 * declared length but would take one of unknown length, and its body then never reaches the handler (the stream is
 * reset, or the handler reads nothing); the JDK's built-in client, which asks for h2c on a fresh connection by default,
 * sends any streamed upload that way. Declining is what RFC 9113 allows a server; the client goes on in HTTP/1.1.
 */
final class CleartextHttp2 extends HTTP2CServerConnectionFactory {
    CleartextHttp2(HttpConfiguration http) {
        super(http);
    }

    @Override
    public @Nullable Connection upgradeConnection(Connector connector, EndPoint endPoint, MetaData.Request request,
                                        HttpFields.Mutable response) {
        if (request.getHttpFields().contains(HttpHeader.TRANSFER_ENCODING)) {
            return null;
        }
        return super.upgradeConnection(connector, endPoint, request, response);
    }

    @Override
    protected ServerSessionListener newSessionListener(Connector connector, EndPoint endPoint) {
        return new HTTPServerSessionListener(endPoint) {
            @Override
            public void onFailure(Session session, Throwable failure, Callback callback) {
                // Only for the end of the input: a GOAWAY alone (Node sends one right after its request) still
                // lets the responses in flight finish.
                if (endPoint.isInputShutdown()) {
                    for (Stream stream : session.getStreams()) {
                        stream.reset(new ResetFrame(stream.getId(), ErrorCode.CANCEL_STREAM_ERROR.code), Callback.NOOP);
                    }
                }
                super.onFailure(session, failure, callback);
            }
        };
    }
}
