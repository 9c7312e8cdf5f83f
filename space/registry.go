package space

// constructors maps names to space constructors; each call builds a new
// value so that no state is shared between users.
var constructors = map[string]func() Space{
	"nb201": newNB201,
	"fbnet": newFBNet,
}
