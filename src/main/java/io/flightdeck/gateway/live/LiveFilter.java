package io.flightdeck.gateway.live;

import io.flightdeck.gateway.api.ApiError;
import java.util.Arrays;
import java.util.Set;
import java.util.stream.Collectors;

/** What one subscriber wants: {@code ?types=A,B}, {@code ?streams=x,y}, {@code ?site=s}; absent means all. */
public record LiveFilter(Set<String> types, Set<String> streams, String site) {

  static final int MAX_VALUES = 100;

  public static LiveFilter parse(String types, String streams, String site) {
    if (site != null && site.isBlank()) {
      throw ApiError.badRequest("invalid_parameter", "site must not be empty");
    }
    return new LiveFilter(list("types", types), list("streams", streams), site);
  }

  private static Set<String> list(String name, String raw) {
    if (raw == null) {
      return Set.of();
    }
    Set<String> values = Arrays.stream(raw.split(",")).map(String::trim).filter(v -> !v.isEmpty())
        .collect(Collectors.toUnmodifiableSet());
    if (values.isEmpty() || values.size() > MAX_VALUES) {
      throw ApiError.badRequest("invalid_parameter", name + " must list 1 to " + MAX_VALUES
          + " comma-separated values");
    }
    return values;
  }

  public boolean all() {
    return types.isEmpty() && streams.isEmpty() && site == null;
  }

  public boolean matches(LiveEvent e) {
    return matches(e.type(), e.streamId(), e.site());
  }

  public boolean matches(String type, String streamId, String eventSite) {
    return (types.isEmpty() || types.contains(type))
        && (streams.isEmpty() || streams.contains(streamId))
        && (site == null || site.equals(eventSite));
  }
}
