package synth

import (
	"strconv"
	"strings"
)

// Word lists for names. They are constants split at run time, so the
// package holds no mutable state.
const (
	adjectiveWords = "Silent Hidden Last Broken Golden Distant Burning Frozen Crimson Secret " +
		"Lonely Wild Endless Quiet Bitter Bright Dark Lost Sudden Long Little Northern " +
		"Midnight Savage Hollow Restless Electric Gentle Iron Paper Velvet Glass Scarlet " +
		"Forgotten Fallen Rising Wandering Stolen Final Open"
	nounWords = "Harbor Letter Garden Storm River Shadow Crown Winter Summer Island Road " +
		"Promise Mirror Signal Orchard Lighthouse Station Kingdom Horizon Echo Voyage " +
		"Frontier Circle Ember Tide Empire Witness Stranger Journey Bridge Ashes Lantern " +
		"Secret Mountain Compass Archive Hunter Dream Border Season Machine Hotel Valley " +
		"Forest Night Morning Storyteller Silence Fortune Memory Harvest Planet Operator"
	placeWords = "Vienna Lisbon Tangier Kyoto Marseille Havana Oslo Nairobi Lima Prague " +
		"Istanbul Naples Montreal Dakar Glasgow Seville Bombay Krakow Reykjavik Memphis"
	firstNames = "Ada Ben Chloe Dario Elena Farid Grace Hugo Ines Jonas Kira Liam Maya " +
		"Noah Olga Pablo Quinn Rosa Sami Tara Umar Vera Wen Ximena Yusuf Zoe Amara Bruno " +
		"Chen Dina Emil Fatima Goran Hana Ivan Julia Kofi Lena Mateo Nadia Oscar Priya " +
		"Rafael Sofia Tomas Uma Victor Wanda Yara Zane"
	lastNames = "Moreno Okafor Lindqvist Tanaka Novak Haddad Rossi Schmidt Kowalski Dubois " +
		"Silva Nguyen Petrov Andersen Mensah Garcia Kim Hughes Costa Fischer Yilmaz Patel " +
		"Ivanova Murphy Sato Lopez Berg Adeyemi Romano Meyer Horvat Bauer Chowdhury Reyes " +
		"Nakamura Laurent Popescu Walsh Abebe Castillo"
)

// names holds the split word lists of one World.
type names struct {
	adjectives, nouns, places, first, last []string
}

func newNames() names {
	return names{
		adjectives: strings.Fields(adjectiveWords),
		nouns:      strings.Fields(nounWords),
		places:     strings.Fields(placeWords),
		first:      strings.Fields(firstNames),
		last:       strings.Fields(lastNames),
	}
}

// title returns a name such as "The Silent Harbor", "Ashes of Winter" or
// "Midnight in Lisbon", with an occasional sequel number.
func (n names) title(r rng) string {
	adj := n.adjectives[r.intN(len(n.adjectives))]
	noun := n.nouns[r.intN(len(n.nouns))]
	var name string
	switch r.intN(5) {
	case 0, 1:
		name = "The " + adj + " " + noun
	case 2:
		name = noun + " of " + n.nouns[r.intN(len(n.nouns))]
	case 3:
		name = noun + " in " + n.places[r.intN(len(n.places))]
	default:
		name = adj + " " + noun
	}
	if r.intN(20) == 0 {
		name += " " + strconv.Itoa(2+r.intN(3))
	}
	return name
}

// person returns a first and last name.
func (n names) person(r rng) string {
	return n.first[r.intN(len(n.first))] + " " + n.last[r.intN(len(n.last))]
}

// paddedID returns prefix followed by i, zero-padded to the width of the
// largest index so that IDs sort in index order.
func paddedID(prefix string, i, count int) string {
	width := max(5, len(strconv.Itoa(count)))
	s := strconv.Itoa(i)
	return prefix + strings.Repeat("0", width-len(s)) + s
}
