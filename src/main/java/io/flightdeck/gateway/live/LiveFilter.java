package io.flightdeck.gateway.live;

import io.flightdeck.gateway.api.ApiError;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * What one subscriber wants: {@code ?types=A,B}, {@code ?streams=x,y}, {@code ?site=s}; absent means all. The lists
 * split at commas and trim each value; {@code ?type=} and {@code ?stream=}, repeatable, take one value each exactly
 * as sent, so a stream id or type with a comma or edge spaces can be selected too. Both spellings may be combined.
 */
public record LiveFilter(Set<String> types, Set<String> streams, String site) {

  static final int MAX_VALUES = 100;

  public static LiveFilter parse(String types, List<String> exactTypes, String streams, List<String> exactStreams,
      String site) {
    if (site != null && site.isBlank()) {
      throw ApiError.badRequest("invalid_parameter", "site must not be empty");
    }
    return new LiveFilter(values("types", types, "type", exactTypes),
        values("streams", streams, "stream", exactStreams), site);
  }

  private static Set<String> values(String listName, String list, String exactName, List<String> exact) {
    if (list == null && exact.isEmpty()) {
      return Set.of();
    }
    Set<String> values = new HashSet<>();
    if (list != null) {
      Arrays.stream(list.split(",")).map(String::trim).filter(v -> !v.isEmpty()).forEach(values::add);
      if (values.isEmpty()) {
        throw ApiError.badRequest("invalid_parameter", listName + " must list 1 to " + MAX_VALUES
            + " comma-separated values");
      }
    }
    for (String value : exact) {
      if (value.isEmpty()) {
        throw ApiError.badRequest("invalid_parameter", exactName + " must not be empty");
      }
      values.add(value);
    }
    if (values.size() > MAX_VALUES) {
      throw ApiError.badRequest("invalid_parameter", listName + " and " + exactName + " may name at most "
          + MAX_VALUES + " values together");
    }
    return Set.copyOf(values);
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
