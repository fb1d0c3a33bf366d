package call

import (
	"math"
	"time"
)

// seconds is an RCML attribute in seconds as a duration. The parser bounds
// attributes from below only, so a huge value (timeout="99999999999")
// would overflow time.Duration into a negative wait that ends at once;
// it is capped at the longest duration instead, which means "never".
func seconds(n int) time.Duration {
	const most = math.MaxInt64 / int64(time.Second)
	if int64(n) > most {
		return math.MaxInt64
	}
	return time.Duration(n) * time.Second
}
