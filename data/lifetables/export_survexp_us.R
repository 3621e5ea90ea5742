# Export survival::survexp.us (daily hazard rates) to survexp_us.csv as annual hazards.
# Run once from this folder:  Rscript export_survexp_us.R
# hazard (per year) = daily rate * 365.25 = -log(1 - q), q = the 1-year probability of death
# (survexp.us help page). Printed with 17 significant digits so that R's values are reproduced.
library(survival)
years <- c("2010", "2012", "2014")
rows <- list()
for (y in years) for (s in c("male", "female")) {
  rows[[length(rows) + 1]] <- data.frame(
    year = as.integer(y), age = 0:109, sex = s,
    hazard = formatC(as.numeric(survexp.us[, s, y]) * 365.25, digits = 17, format = "g")
  )
}
out <- do.call(rbind, rows)
write.csv(out, "survexp_us.csv", row.names = FALSE, quote = FALSE)
cat("survival", as.character(packageVersion("survival")), "-", R.version.string, "\n")
