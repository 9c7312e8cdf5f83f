package space

// constructors maps names to space constructors; each call builds a new
// value so that no state is shared between users.
var constructors = map[string]func() Space{
	"multihw":   newMultiHW,
	"mnv3like":  newMNV3Like,
	"proxyless": newProxyless,
	"ofa":       newOFA,
	"fbnet":     newFBNet,
	"nb201":     newNB201,
}
