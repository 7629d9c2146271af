package web

import (
	"net/http"

	"github.com/eonpro/eonpro"
)

// dashboardRecent is how many recently added and viewed patients the
// dashboard lists.
const dashboardRecent = 5

// dashboard is the data of the dashboard.
type dashboard struct {
	Stats          *eonpro.PatientStats
	Chart          dayChart
	RecentlyAdded  []*eonpro.Patient
	RecentlyViewed []*eonpro.PatientView
}

// pageDashboard shows staff, providers and admins their clinic at a glance.
func (s *Server) pageDashboard(w http.ResponseWriter, r *http.Request, v *view) error {
	ctx := r.Context()
	stats, err := s.cfg.Patients.PatientStats(ctx)
	if err != nil {
		return err
	}
	recent, _, err := s.cfg.Patients.FindPatients(ctx, eonpro.PatientFilter{Limit: dashboardRecent})
	if err != nil {
		return err
	}
	viewed, err := s.cfg.Patients.FindRecentlyViewedPatients(ctx, dashboardRecent)
	if err != nil {
		return err
	}
	v.Title = "Dashboard"
	v.Data = dashboard{Stats: stats, Chart: newDayChart(stats.PerDay), RecentlyAdded: recent, RecentlyViewed: viewed}
	return s.render(w, r, http.StatusOK, "dashboard", v)
}

// The size of the new-patients chart, in SVG user units.
const (
	chartWidth  = 600
	chartHeight = 142
	chartBase   = 140 // the baseline, with room for the axis below
)

// dayChart is a bar chart of counts per day, drawn as inline SVG by the
// server: geometry in attributes, colours in app.css (no inline style).
type dayChart struct {
	Width, Height, Base int
	Max                 int
	Bars                []chartBar
	First, Last         string
}

// chartBar is one day's bar.
type chartBar struct {
	X, Y, W, H int
	Day        string
	Count      int
}

func newDayChart(days []eonpro.DayCount) dayChart {
	c := dayChart{Width: chartWidth, Height: chartHeight, Base: chartBase, Max: 1}
	if len(days) == 0 {
		return c
	}
	for _, d := range days {
		c.Max = max(c.Max, d.Count)
	}
	slot := chartWidth / len(days)
	for i, d := range days {
		h := d.Count * (chartBase - 10) / c.Max
		if d.Count > 0 {
			h = max(h, 2)
		}
		c.Bars = append(c.Bars, chartBar{X: i*slot + 1, Y: chartBase - h, W: slot - 2, H: h, Day: d.Day, Count: d.Count})
	}
	c.First, c.Last = days[0].Day, days[len(days)-1].Day
	return c
}
