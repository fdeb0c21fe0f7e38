package ai.factory.api;

import ai.factory.FactoryException;
import ai.factory.Json;
import java.io.IOException;
import java.nio.ByteBuffer;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.http.HttpStatus;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.server.handler.ErrorHandler;
import org.eclipse.jetty.util.Callback;

/**
 * Errors the HTTP server answers before any route runs (a header block too large, 431; a URI too long, 414; a request
 * line that does not parse, 400; a body that stopped arriving, 408), in the error shape of the API the path belongs
 * to rather than Jetty's HTML page, so an SDK raises its typed error for them too.
 */
final class ProtocolErrors extends ErrorHandler {
    @Override
    protected void generateResponse(Request request, Response response, int code, String message, Throwable cause,
                                    Callback callback) throws IOException {
        String path = request.getHttpURI() == null || request.getHttpURI().getPath() == null ? "/"
                : request.getHttpURI().getPath();
        String reason = message != null && !message.isBlank() ? message : HttpStatus.getMessage(code);
        FactoryException error = new FactoryException(ErrorResponses.codeFor(code), "the request was refused: "
                + reason.toLowerCase(java.util.Locale.ROOT) + " (HTTP " + code + ")");
        ErrorResponses.Answer answer = ErrorResponses.answer(ApiFamily.of(path), error, code);
        answer.headers().forEach((name, value) -> response.getHeaders().put(name, value));
        response.getHeaders().put(HttpHeader.CONTENT_TYPE, "application/json");
        byte[] body = Json.mapper().writeValueAsBytes(answer.body());
        response.write(true, ByteBuffer.wrap(body), callback);
    }
}
