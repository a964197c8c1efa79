package democity_test

import (
	"fmt"
	"slices"

	"partyledger/domain/democity"
)

// Build tells what was built into each organisation, so a demo can point
// at the exemplary, vetoed and derelict ones of a seed, and at those that
// show RUBRIC.md revision 2.
func ExampleBuild() {
	city := democity.Build(2016, democity.Options{})
	profiles := map[democity.Profile]int{}
	var v1, v2, derelict, provisional, founded, extended, partlyLate []string
	for _, o := range city.Orgs {
		if !o.FoundedOn.IsZero() {
			founded = append(founded, o.Code+" "+o.FoundedOn.String())
		}
		if !o.TermExtendedUntil.IsZero() {
			extended = append(extended, o.Code+" "+o.TermExtendedUntil.String())
		}
		if o.PartlyLateDues {
			partlyLate = append(partlyLate, o.Code)
		}
		profiles[o.Profile]++
		if slices.Contains(o.Vetoes, "V1") {
			v1 = append(v1, o.Code)
		}
		if slices.Contains(o.Vetoes, "V2") {
			v2 = append(v2, o.Code)
		}
		if o.Profile == democity.Derelict {
			derelict = append(derelict, o.Code)
		}
		if !o.HasGroupScore {
			provisional = append(provisional, o.Code)
		}
	}
	fmt.Println(len(city.Orgs), "organisations,", len(city.Lines), "lines")
	fmt.Println("exemplary", profiles[democity.Exemplary], "average", profiles[democity.Average],
		"sloppy", profiles[democity.Sloppy], "derelict", profiles[democity.Derelict])
	fmt.Println("V1:", v1, "V2:", v2, "derelict:", derelict, "provisional:", provisional)
	fmt.Println("founded:", founded, "term extended until:", extended, "partly late dues:", partlyLate)
	// Output:
	// 64 organisations, 24426 lines
	// exemplary 16 average 31 sloppy 16 derelict 1
	// V1: [LY-0009] V2: [LY-0052 LY-0061] derelict: [LY-0054] provisional: [LY-0006]
	// founded: [LY-0060 2016-07-01] term extended until: [LY-0001 2017-06-30] partly late dues: [LY-0054]
}
