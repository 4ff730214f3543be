"""Word lists the demo generator draws from: names, places, companies, and what people say.

Plain data, no logic. Phone number prefixes are mobile ranges that `phonenumbers` accepts as
valid for their country, so every demo phone number parses back to itself.
"""

from __future__ import annotations

# --- teams and the countries they cover --------------------------------------------------------

TEAMS = [
    # (name, share of contacts, countries with weights)
    ("Americas", 0.45, [("US", 70), ("CA", 12), ("BR", 10), ("MX", 8)]),
    ("Europe", 0.35, [("GB", 25), ("DE", 22), ("FR", 16), ("NL", 10), ("ES", 9), ("IT", 10), ("SE", 8)]),
    ("Asia Pacific", 0.20, [("AU", 35), ("JP", 20), ("SG", 15), ("IN", 22), ("NZ", 8)]),
]

# Demo users: (username, first name, last name, role, team index or None). Every role appears.
USERS = [
    ("ada.admin", "Ada", "Admin", "admin", None),
    ("mona.manager", "Mona", "Mendes", "manager", 0),
    ("max.manager", "Max", "Müller", "manager", 1),
    ("mei.manager", "Mei", "Matsuda", "manager", 2),
    ("sam.seller", "Sam", "Sellers", "seller", 0),
    ("sara.seller", "Sara", "Santos", "seller", 0),
    ("seth.seller", "Seth", "Stone", "seller", 0),
    ("sofia.seller", "Sofía", "Serrano", "seller", 0),
    ("sven.seller", "Sven", "Svensson", "seller", 1),
    ("sophie.seller", "Sophie", "Simon", "seller", 1),
    ("stefan.seller", "Stefan", "Schulz", "seller", 1),
    ("siddharth.seller", "Siddharth", "Sharma", "seller", 2),
    ("sakura.seller", "Sakura", "Sato", "seller", 2),
    ("mara.marketer", "Mara", "Meyer", "marketer", 1),
    ("milo.marketer", "Milo", "Moore", "marketer", 0),
    ("sid.service", "Sid", "Singh", "service", 2),
    ("sue.service", "Sue", "Sullivan", "service", 0),
]

# --- countries: phone ranges, places, names, company suffixes ---------------------------------

# country: (calling code, mobile prefixes, national digits after the prefix)
PHONES = {
    "US": ("+1", ["212", "415", "312", "617", "206", "512", "303", "404"], "N######"),
    "CA": ("+1", ["416", "604", "514", "403"], "N######"),
    "BR": ("+55", ["119", "219"], "M#######"),
    "MX": ("+52", ["55", "33", "81"], "N#######"),
    "GB": ("+44", ["770", "771", "772", "773", "774", "775", "776", "777", "778"], "#######"),
    "DE": ("+49", ["151", "152", "160", "170", "176"], "########"),
    "FR": ("+33", ["60", "61", "62", "64", "65", "66", "67", "68"], "#######"),
    "NL": ("+31", ["6"], "L#######"),
    "ES": ("+34", ["6"], "########"),
    "IT": ("+39", ["33", "34", "32"], "########"),
    "SE": ("+46", ["70", "72", "73"], "#######"),
    "AU": ("+61", ["40", "41", "42", "43"], "#######"),
    "JP": ("+81", ["901", "902", "903", "904", "905", "906", "907", "908", "909"], "#######"),
    "SG": ("+65", ["81", "82", "83", "84", "85", "86", "87", "88", "91", "92", "93", "94"], "######"),
    "IN": ("+91", ["9", "8", "7"], "#########"),
    "NZ": ("+64", ["21"], "#######"),
}

# country: [(city, region, time zone, postal code pattern ('#' = digit))]
PLACES = {
    "US": [("New York", "NY", "America/New_York", "100##"), ("San Francisco", "CA", "America/Los_Angeles", "941##"),
           ("Chicago", "IL", "America/Chicago", "606##"), ("Austin", "TX", "America/Chicago", "787##"),
           ("Seattle", "WA", "America/Los_Angeles", "981##"), ("Boston", "MA", "America/New_York", "021##"),
           ("Denver", "CO", "America/Denver", "802##"), ("Atlanta", "GA", "America/New_York", "303##")],
    "CA": [("Toronto", "ON", "America/Toronto", "M5V #A#"), ("Vancouver", "BC", "America/Vancouver", "V6B #C#"),
           ("Montréal", "QC", "America/Toronto", "H2X #B#")],
    "BR": [("São Paulo", "SP", "America/Sao_Paulo", "01###-###"),
           ("Rio de Janeiro", "RJ", "America/Sao_Paulo", "20###-###")],
    "MX": [("Ciudad de México", "CDMX", "America/Mexico_City", "06###"),
           ("Guadalajara", "Jalisco", "America/Mexico_City", "44###"),
           ("Monterrey", "Nuevo León", "America/Monterrey", "64###")],
    "GB": [("London", "England", "Europe/London", "EC1A #BB"), ("Manchester", "England", "Europe/London", "M1 #AE"),
           ("Edinburgh", "Scotland", "Europe/London", "EH1 #YZ")],
    "DE": [("Berlin", "Berlin", "Europe/Berlin", "101##"), ("München", "Bayern", "Europe/Berlin", "803##"),
           ("Hamburg", "Hamburg", "Europe/Berlin", "200##")],
    "FR": [("Paris", "Île-de-France", "Europe/Paris", "750##"), ("Lyon", "Auvergne-Rhône-Alpes", "Europe/Paris", "690##")],
    "NL": [("Amsterdam", "Noord-Holland", "Europe/Amsterdam", "10## AB"),
           ("Rotterdam", "Zuid-Holland", "Europe/Amsterdam", "30## CD")],
    "ES": [("Madrid", "Madrid", "Europe/Madrid", "280##"), ("Barcelona", "Cataluña", "Europe/Madrid", "080##")],
    "IT": [("Milano", "Lombardia", "Europe/Rome", "201##"), ("Roma", "Lazio", "Europe/Rome", "001##")],
    "SE": [("Stockholm", "Stockholm", "Europe/Stockholm", "111 ##"), ("Göteborg", "Västra Götaland", "Europe/Stockholm", "411 ##")],
    "AU": [("Sydney", "NSW", "Australia/Sydney", "20##"), ("Melbourne", "VIC", "Australia/Melbourne", "30##")],
    "JP": [("Tokyo", "Tokyo", "Asia/Tokyo", "100-00##"), ("Osaka", "Osaka", "Asia/Tokyo", "530-00##")],
    "SG": [("Singapore", "", "Asia/Singapore", "01####")],
    "IN": [("Bengaluru", "Karnataka", "Asia/Kolkata", "5600##"), ("Mumbai", "Maharashtra", "Asia/Kolkata", "4000##")],
    "NZ": [("Auckland", "Auckland", "Pacific/Auckland", "10##"), ("Wellington", "Wellington", "Pacific/Auckland", "60##")],
}

# Street names; house numbers go after the street where the country writes them that way.
STREETS = {
    "en": ["Main Street", "Oak Avenue", "Market Street", "Park Road", "High Street", "King Street",
           "Elm Street", "Harbour Road", "Station Road", "Church Lane", "Maple Drive", "Queen Street"],
    "de": ["Hauptstraße", "Bahnhofstraße", "Gartenweg", "Schillerstraße", "Lindenallee"],
    "fr": ["Rue de la Paix", "Avenue Victor Hugo", "Rue du Commerce", "Boulevard Voltaire"],
    "nl": ["Keizersgracht", "Herengracht", "Damrak", "Coolsingel"],
    "es": ["Calle Mayor", "Gran Vía", "Paseo de Gracia", "Calle de Alcalá"],
    "it": ["Via Roma", "Corso Buenos Aires", "Via Dante", "Via Nazionale"],
    "sv": ["Drottninggatan", "Kungsgatan", "Storgatan", "Sveavägen"],
    "pt": ["Avenida Paulista", "Rua Augusta", "Rua Oscar Freire"],
    "ja": ["Marunouchi", "Shibuya", "Umeda", "Ginza"],
}
STREET_LANGUAGE = {"US": "en", "CA": "en", "GB": "en", "AU": "en", "NZ": "en", "SG": "en", "IN": "en",
                   "DE": "de", "FR": "fr", "NL": "nl", "ES": "es", "MX": "es", "IT": "it", "SE": "sv",
                   "BR": "pt", "JP": "ja"}
NUMBER_FIRST = {"en", "fr", "ja"}

# Name pools by language; earlier names are commoner (the generator weights them Zipf-like), so
# a few last names ("Smith", "Müller") are frequent as in real lists.
FIRST_NAMES = {
    "en": ["James", "Mary", "John", "Patricia", "Robert", "Jennifer", "Michael", "Linda", "David", "Elizabeth",
           "William", "Barbara", "Richard", "Susan", "Joseph", "Jessica", "Thomas", "Sarah", "Chris", "Karen",
           "Daniel", "Lisa", "Matthew", "Nancy", "Anthony", "Emily", "Mark", "Ashley", "Steven", "Michelle",
           "Andrew", "Amanda", "Joshua", "Melissa", "Kevin", "Laura", "Brian", "Rebecca", "Ryan", "Hannah",
           "Olivia", "Liam", "Noah", "Emma", "Oliver", "Charlotte", "Amelia", "Jack", "Harry", "Grace"],
    "de": ["Lukas", "Anna", "Felix", "Lea", "Jonas", "Laura", "Paul", "Marie", "Leon", "Sophie", "Maximilian",
           "Katharina", "Jan", "Julia", "Tobias", "Lena", "Florian", "Hannah", "Moritz", "Jürgen"],
    "fr": ["Louis", "Camille", "Gabriel", "Léa", "Hugo", "Chloé", "Arthur", "Manon", "Jules", "Inès",
           "Lucas", "Sarah", "Nathan", "Émilie", "Théo", "Juliette"],
    "nl": ["Daan", "Emma", "Sem", "Julia", "Lucas", "Mila", "Finn", "Tess", "Bram", "Sanne"],
    "es": ["Alejandro", "Lucía", "Daniel", "María", "Pablo", "Paula", "Javier", "Carmen", "Diego", "Sofía",
           "Carlos", "Elena", "Miguel", "Isabel"],
    "it": ["Francesco", "Giulia", "Alessandro", "Chiara", "Lorenzo", "Francesca", "Matteo", "Sara",
           "Andrea", "Martina"],
    "sv": ["Erik", "Anna", "Lars", "Karin", "Oskar", "Maja", "Nils", "Elsa", "Johan", "Ingrid"],
    "pt": ["João", "Ana", "Pedro", "Mariana", "Lucas", "Beatriz", "Gabriel", "Camila", "Rafael", "Larissa"],
    "ja": ["Haruto", "Yui", "Sota", "Hina", "Yuto", "Aoi", "Ren", "Sakura", "Kenji", "Yuki"],
    "hi": ["Aarav", "Priya", "Vivaan", "Ananya", "Arjun", "Diya", "Rohan", "Isha", "Rahul", "Kavya",
           "Vikram", "Neha"],
}
LAST_NAMES = {
    "en": ["Smith", "Johnson", "Williams", "Brown", "Jones", "Miller", "Davis", "Wilson", "Anderson", "Taylor",
           "Thomas", "Moore", "Martin", "Jackson", "Thompson", "White", "Harris", "Clark", "Lewis", "Robinson",
           "Walker", "Young", "Allen", "King", "Wright", "Scott", "Hill", "Green", "Adams", "Baker",
           "Nelson", "Carter", "Mitchell", "Roberts", "Turner", "Phillips", "Campbell", "Parker", "Evans",
           "Edwards", "Collins", "Stewart", "Morris", "Murphy", "Cook", "Rogers", "Morgan", "Cooper", "Peterson",
           "Reed", "Bailey", "Bell", "Kelly", "Howard", "Ward", "Cox", "Richardson", "Wood", "Watson", "Brooks",
           "Bennett", "Gray", "Hughes", "Price", "Sanders", "Myers", "Long", "Ross", "Foster", "Powell",
           "Jenkins", "Perry", "Russell", "Sullivan", "Fisher", "Henderson", "Coleman", "Patterson", "Jordan",
           "Reynolds", "Hamilton", "Graham", "Wallace", "O'Brien", "Murray", "Ford", "Mills", "Smithson"],
    "de": ["Müller", "Schmidt", "Schneider", "Fischer", "Weber", "Meyer", "Wagner", "Becker", "Schulz",
           "Hoffmann", "Koch", "Richter", "Klein", "Wolf", "Schröder", "Neumann", "Schwarz", "Braun"],
    "fr": ["Martin", "Bernard", "Dubois", "Thomas", "Robert", "Richard", "Petit", "Durand", "Leroy", "Moreau",
           "Simon", "Laurent", "Lefèvre", "Michel", "Garcia", "Fournier"],
    "nl": ["de Jong", "Jansen", "de Vries", "van den Berg", "van Dijk", "Bakker", "Visser", "Smit",
           "Meijer", "de Boer"],
    "es": ["García", "Rodríguez", "González", "Fernández", "López", "Martínez", "Sánchez", "Pérez", "Gómez",
           "Martín", "Jiménez", "Ruiz", "Hernández", "Díaz"],
    "it": ["Rossi", "Russo", "Ferrari", "Esposito", "Bianchi", "Romano", "Colombo", "Ricci", "Marino", "Greco"],
    "sv": ["Andersson", "Johansson", "Karlsson", "Nilsson", "Eriksson", "Larsson", "Olsson", "Persson",
           "Svensson", "Gustafsson"],
    "pt": ["Silva", "Santos", "Oliveira", "Souza", "Rodrigues", "Ferreira", "Alves", "Pereira", "Lima",
           "Gomes"],
    "ja": ["Sato", "Suzuki", "Takahashi", "Tanaka", "Watanabe", "Ito", "Yamamoto", "Nakamura", "Kobayashi",
           "Kato"],
    "hi": ["Sharma", "Patel", "Singh", "Kumar", "Gupta", "Reddy", "Iyer", "Nair", "Mehta", "Shah", "Rao"],
}
NAME_LANGUAGE = {"US": "en", "CA": "en", "GB": "en", "AU": "en", "NZ": "en", "SG": "en", "IN": "hi",
                 "DE": "de", "FR": "fr", "NL": "nl", "ES": "es", "MX": "es", "IT": "it", "SE": "sv",
                 "BR": "pt", "JP": "ja"}

# --- companies --------------------------------------------------------------------------------

COMPANY_FIRST = ["North", "Blue", "Silver", "Bright", "Kestrel", "Summit", "Harbor", "Cedar", "Granite", "Nova",
                 "Atlas", "Lumen", "Pioneer", "Crescent", "Orchid", "Falcon", "Maple", "Beacon", "Vertex", "Willow",
                 "Copper", "Iron", "Clear", "Red", "Green", "Oak", "River", "Stone", "Sun", "Polar", "Coral",
                 "Aurora", "Echo", "Quartz", "Meridian", "Sterling", "Horizon", "Juniper", "Cobalt", "Zenith",
                 "Alder", "Bay", "Crown", "Delta", "Ember", "Fern", "Glacier", "Hollow", "Indigo", "Jade"]
COMPANY_SECOND = ["wind", "field", "gate", "light", "bridge", "point", "stone", "wave", "peak", "path",
                  "leaf", "brook", "crest", "forge", "haven", "line", "mark", "ridge", "spring", "works"]
INDUSTRIES = {
    "Software": ["Software", "Analytics", "Cloud", "Systems", "Labs", "Digital"],
    "Manufacturing": ["Manufacturing", "Industries", "Machines", "Components", "Tooling"],
    "Retail": ["Retail", "Stores", "Outfitters", "Market", "Goods"],
    "Healthcare": ["Health", "Medical", "Care", "Clinics", "Pharma"],
    "Financial services": ["Capital", "Finance", "Partners", "Advisors", "Insurance"],
    "Logistics": ["Logistics", "Freight", "Shipping", "Transport"],
    "Education": ["Learning", "Academy", "Education", "Institute"],
    "Hospitality": ["Hotels", "Hospitality", "Travel", "Foods"],
    "Energy": ["Energy", "Power", "Solar", "Utilities"],
    "Professional services": ["Consulting", "Group", "Associates", "Agency"],
}
LEGAL_SUFFIX = {"US": ["Inc.", "LLC", "Corp."], "CA": ["Inc.", "Ltd."], "BR": ["Ltda.", "S.A."],
                "MX": ["S.A. de C.V."], "GB": ["Ltd", "plc"], "DE": ["GmbH", "AG"], "FR": ["SAS", "SA"],
                "NL": ["B.V."], "ES": ["S.L.", "S.A."], "IT": ["S.p.A.", "S.r.l."], "SE": ["AB"],
                "AU": ["Pty Ltd"], "JP": ["K.K."], "SG": ["Pte Ltd"], "IN": ["Pvt Ltd"], "NZ": ["Ltd"]}
TLD = {"US": ".com", "CA": ".ca", "BR": ".com.br", "MX": ".mx", "GB": ".co.uk", "DE": ".de", "FR": ".fr",
       "NL": ".nl", "ES": ".es", "IT": ".it", "SE": ".se", "AU": ".com.au", "JP": ".jp", "SG": ".sg",
       "IN": ".in", "NZ": ".co.nz"}
SIZE_BANDS = [("1-9", 30), ("10-49", 30), ("50-249", 22), ("250-999", 12), ("1000+", 6)]
PERSONAL_DOMAINS = ["gmail.com", "outlook.com", "yahoo.com", "icloud.com", "proton.me", "hotmail.com"]
LOCAL_MAIL_DOMAINS = {"DE": ["gmx.de", "web.de", "t-online.de"], "FR": ["orange.fr", "free.fr"],
                      "IT": ["libero.it"], "BR": ["uol.com.br"], "GB": ["btinternet.com"],
                      "JP": ["yahoo.co.jp"], "IN": ["rediffmail.com"], "NL": ["ziggo.nl"]}

# --- people -----------------------------------------------------------------------------------

JOB_TITLES = ["CEO", "Founder", "CFO", "COO", "CTO", "VP Sales", "VP Marketing", "Head of Operations",
              "Head of Procurement", "Purchasing Manager", "Marketing Manager", "Sales Manager",
              "Account Executive", "Office Manager", "IT Director", "Software Engineer", "Product Manager",
              "Operations Analyst", "HR Director", "Customer Success Lead", "Finance Manager",
              "Project Manager", "Engineering Manager", "Data Analyst", "Owner", "Consultant",
              "Business Development Manager", "Store Manager", "Practice Manager", "Head of Digital"]
SOURCES = [("website", 24), ("webinar", 10), ("referral", 12), ("trade show", 7), ("paid search", 11),
           ("linkedin", 9), ("cold outreach", 8), ("partner", 6), ("newsletter", 8), ("import", 5)]
# Stages with the share of a realistic funnel: many subscribers and leads, fewer customers.
STAGES = [("subscriber", 22), ("lead", 25), ("marketing_qualified", 12), ("sales_qualified", 8),
          ("opportunity", 6), ("customer", 17), ("advocate", 4), ("former_customer", 6)]
TAGS = ["newsletter", "webinar-2025", "webinar-2026", "prefers-phone", "prefers-email", "vip", "trial",
        "pricing-page", "event-berlin", "event-austin", "event-sydney", "decision-maker", "influencer",
        "renewal-due", "case-study", "beta-tester", "partner-lead", "champion", "budget-approved", "churn-risk"]

# --- timeline ---------------------------------------------------------------------------------

CALL_NOTES = ["Discussed the renewal timeline", "Walked through pricing for more seats",
              "Follow-up on the demo; wants a trial", "Checked in after onboarding", "Asked about the API",
              "Budget is approved for next quarter", "Talked through the security questionnaire",
              "Introduced our new reporting features", "Qualified: team of 40, evaluating two vendors",
              "Escalation about invoicing resolved", "Scheduling a meeting with their CFO",
              "Not the right time; call back in three months"]
MEETING_SUBJECTS = ["Product demo", "Quarterly business review", "Onboarding workshop", "Discovery meeting",
                    "Contract negotiation", "Executive sponsor check-in", "Technical deep dive",
                    "Renewal planning", "Kick-off", "Training session"]
EMAIL_SUBJECTS = ["Proposal for next year", "Re: pricing question", "Following up on our call",
                  "Your trial is ready", "Invoice and payment terms", "Re: integration with our ERP",
                  "Meeting notes and next steps", "Introduction", "Case study you asked for",
                  "Re: contract redlines", "Thank you for your time today", "Quick question"]
NOTES = ["Prefers to be called in the morning", "Decision maker for the whole region",
         "Mentioned a competitor's offer", "Happy with support; possible case study",
         "Moving offices next month", "Asked to be kept in the loop on new features",
         "Budget cycle starts in October", "Referred us to a colleague at a partner company",
         "Wants a discount for a three-year term", "New champion after the reorganisation"]
PAGES = ["/pricing", "/features", "/customers", "/blog/relationship-selling", "/integrations", "/security",
         "/blog/customer-lifetime-value", "/demo", "/about", "/careers", "/docs/api", "/webinars"]
FORMS = ["Request a demo", "Download the buyer's guide", "Webinar registration", "Contact sales",
         "Newsletter sign-up", "Free trial"]
CAMPAIGNS = ["Spring product update", "Customer stories: retail", "Webinar invitation", "Year in review",
             "New integrations", "Pricing changes", "Summer event invitation", "Monthly newsletter"]
ATTENDEE_COLLEAGUES = ["Alex Kim", "Jordan Lee", "Priya Patel", "Tom Becker", "Lucía Ortega", "Noah Fischer"]
